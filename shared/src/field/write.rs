//! Writing a value at a JSON pointer, making what is missing on the way.

/// Sets the value at `pointer` (`/a/b`) in `root`, making what is missing
/// on the way: objects, or a one-element array where the next token is `0`
/// (sample bodies that a source's fields must find). An existing value is
/// kept where it is a container; a scalar in the way is replaced.
pub fn set_pointer(root: &mut serde_json::Value, pointer: &str, value: &str) {
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    set_in(root, &tokens, value);
}

fn set_in(at: &mut serde_json::Value, tokens: &[String], value: &str) {
    use serde_json::Value;
    let Some((token, rest)) = tokens.split_first() else {
        *at = value.into();
        return;
    };
    let index = match &*at {
        Value::Array(items) => token.parse::<usize>().ok().filter(|n| *n <= items.len()),
        _ => None,
    };
    let slot = match (index, at.as_array_mut()) {
        (Some(n), Some(items)) => {
            if n == items.len() {
                items.push(Value::Null);
            }
            &mut items[n]
        }
        _ => {
            if !at.is_object() {
                *at = Value::Object(Default::default());
            }
            at.as_object_mut()
                .expect("an object")
                .entry(token.clone())
                .or_insert(Value::Null)
        }
    };
    if let Some(next) = rest.first()
        && !(slot.is_object() || slot.is_array())
    {
        *slot = if next == "0" {
            Value::Array(Vec::new())
        } else {
            Value::Object(Default::default())
        };
    }
    set_in(slot, rest, value);
}
