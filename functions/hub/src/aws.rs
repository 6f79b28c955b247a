//! The hub in AWS, behind API Gateway's WebSocket API: the function is the
//! `$connect` REQUEST authorizer (it checks the bearer token and the
//! connection token, and hands the token's name to every later event of the
//! connection as authorizer context), and the integration of `$connect`,
//! `$default` and `$disconnect`. `$default` is two-way: what the function
//! answers is sent to the client as one text frame (the handshake answer,
//! Completions, a Ping for a Ping). After a protocol error, or the client's
//! Close, the answer (with its Close message) is posted to the connection
//! and the connection deleted (`@connections`), so a client that does not
//! hang up is not left holding it.
//!
//! The events are read with serde structs of their own: `aws_lambda_events`
//! reads a WebSocket event's authorizer context under `lambda` (the HTTP
//! API's shape), where a WebSocket API does not put it.

use std::collections::HashMap;

use crate::signalr::{Connection, Event, protocol};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use inlet_shared::Error;
use inlet_shared::config::Token;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fanout::Connections;
use crate::table::HubTable;
use crate::{Hub, Reading};

/// The authorizer context key holding the connection's token name.
const TOKEN_KEY: &str = "token";

/// What the function was invoked with.
#[derive(Debug)]
pub enum Invocation {
    /// The `$connect` REQUEST authorizer.
    Authorize(AuthorizerRequest),
    /// A WebSocket route: `$connect`, `$default` or `$disconnect`.
    Route(RouteEvent),
}

impl Invocation {
    /// Reads an event: an authorizer request has `"type": "REQUEST"`.
    pub fn from_event(event: Value) -> Result<Invocation, serde_json::Error> {
        if event.get("type").and_then(Value::as_str) == Some("REQUEST") {
            serde_json::from_value(event).map(Invocation::Authorize)
        } else {
            serde_json::from_value(event).map(Invocation::Route)
        }
    }
}

/// A REQUEST authorizer's input for `$connect`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerRequest {
    method_arn: String,
    #[serde(default)]
    headers: Option<HashMap<String, String>>,
    #[serde(default)]
    query_string_parameters: Option<HashMap<String, String>>,
}

/// A WebSocket route's event (the fields the hub reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteEvent {
    request_context: RouteContext,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RouteContext {
    event_type: String,
    #[serde(default)]
    connection_id: Option<String>,
    #[serde(default)]
    authorizer: HashMap<String, Value>,
}

/// Why an authorizer refuses: API Gateway answers 401 to the error
/// `Unauthorized`, and 403 to a Deny policy.
#[derive(Debug, thiserror::Error)]
#[error("Unauthorized")]
pub struct Unauthorized;

/// What the hub function reaches besides its configuration.
#[derive(Clone, Copy, Default)]
pub struct Reach<'a> {
    /// Where subscriptions go (without it the Reader hub's methods are
    /// refused).
    pub table: Option<&'a HubTable>,
    /// The `@connections` API, to close a connection after a protocol
    /// error (without it the client is asked to and trusted to hang up).
    pub connections: Option<&'a dyn Connections>,
}

/// Handles one invocation; an authorizer's refusal is the error API Gateway
/// turns into 401.
pub async fn handle(
    hub: &Hub,
    reach: Reach<'_>,
    invocation: Invocation,
) -> Result<Value, Unauthorized> {
    match invocation {
        Invocation::Authorize(request) => authorize(hub, request),
        Invocation::Route(event) => Ok(route(hub, reach, event).await),
    }
}

fn authorize(hub: &Hub, request: AuthorizerRequest) -> Result<Value, Unauthorized> {
    let mut headers = HeaderMap::new();
    for (name, value) in request.headers.unwrap_or_default() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    let query = request.query_string_parameters.unwrap_or_default();
    let caller = hub
        .authenticate(&headers, query.get("access_token").map(String::as_str))
        .map_err(|e| {
            tracing::info!(error = %e, "hub connection refused");
            Unauthorized
        })?;
    let effect = match query.get("id").map(|id| hub.connection_id(id)) {
        Some(Err(e)) => {
            tracing::info!(error = %e, "hub connection refused");
            "Deny"
        }
        Some(Ok(_)) | None => "Allow",
    };
    Ok(json!({
        "principalId": caller.name,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": effect,
                "Resource": request.method_arn,
            }],
        },
        "context": { TOKEN_KEY: caller.name },
    }))
}

async fn route(hub: &Hub, reach: Reach<'_>, event: RouteEvent) -> Value {
    let context = &event.request_context;
    let connection = context.connection_id.as_deref().unwrap_or("");
    match context.event_type.as_str() {
        "CONNECT" => tracing::info!(connection, "hub connected"),
        "DISCONNECT" => {
            tracing::info!(connection, "hub disconnected");
            if let Some(table) = reach.table
                && let Err(e) = table.forget(connection).await
            {
                tracing::warn!(error = %e, "cannot forget a connection's subscriptions; they expire");
            }
        }
        "MESSAGE" => return message(hub, reach, &event).await,
        other => tracing::warn!(event_type = other, "unexpected WebSocket event"),
    }
    json!({ "statusCode": 200 })
}

/// A frame: every message in it handled in order, the answers sent back as
/// one frame.
async fn message(hub: &Hub, reach: Reach<'_>, event: &RouteEvent) -> Value {
    let connection = event.request_context.connection_id.as_deref().unwrap_or("");
    let reading = reach
        .table
        .map(|table| Reading::Table { table, connection });
    let mut reply = String::new();
    let caller = caller(hub, &event.request_context);
    let body = event.body.as_deref().unwrap_or("");
    let mut state = Connection::per_frame(hub.max_message_bytes() * 2);
    let mut closing = false;
    let steps = if event.is_base64_encoded {
        // API Gateway closes a connection that sends binary frames (1003)
        // before a function sees one; this answers one that slips through.
        let why = "the JSON hub protocol takes text frames only";
        vec![Event::Send(protocol::close(Some(why), false)), Event::Close]
    } else {
        state.receive(body)
    };
    for step in steps {
        match step {
            Event::Send(text) => reply.push_str(&text),
            Event::Invoke(invocation) => match &caller {
                Ok(caller) => {
                    if let Some(done) = hub.invoke(caller, reading, invocation).await {
                        reply.push_str(&done);
                    }
                }
                Err(e) => {
                    if let Some(id) = &invocation.invocation_id {
                        reply.push_str(&protocol::completion_error(
                            id,
                            &crate::completion_message(e, &invocation.target),
                        ));
                    }
                }
            },
            Event::Close => {
                closing = true;
                break;
            }
        }
    }
    if closing
        && let Some(connections) = reach.connections
        && close(connections, connection, &reply).await
    {
        return json!({ "statusCode": 200 });
    }
    if reply.is_empty() {
        json!({ "statusCode": 200 })
    } else {
        json!({ "statusCode": 200, "body": reply })
    }
}

/// Posts `reply` (which ends with the Close message, if the hub sends one)
/// to `connection`, then deletes the connection; whether it did.
async fn close(connections: &dyn Connections, connection: &str, reply: &str) -> bool {
    if !reply.is_empty()
        && let Err(e) = connections.post(connection, reply.to_owned()).await
    {
        tracing::warn!(connection, error = ?e, "cannot send the closing answer; answering it instead");
        return false;
    }
    match connections.close(connection).await {
        Ok(()) | Err(crate::fanout::PostError::Gone) => {
            tracing::info!(
                connection,
                "hub connection closed after a protocol error or the client's Close"
            );
        }
        Err(e) => {
            tracing::warn!(connection, error = ?e, "cannot close the connection; the client was asked to")
        }
    }
    true
}

/// The connection's token, named by the `$connect` authorizer's context.
fn caller(hub: &Hub, context: &RouteContext) -> Result<Token, Error> {
    let name = context
        .authorizer
        .get(TOKEN_KEY)
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::Unauthorized(
                "the connection has no authorizer context: is the $connect authorizer configured?"
                    .into(),
            )
        })?;
    hub.config()
        .tokens
        .get(name)
        .cloned()
        .ok_or_else(|| Error::Unauthorized(format!("token {name:?} is no longer configured")))
}

/// Serves the hub's WebSocket routes in Lambda until the runtime stops it:
/// the Reader hub only with its table (`INLET_HUB_TABLE`, which the
/// template sets), and connections closed after a protocol error through
/// `@connections` (`INLET_HUB_CONNECTIONS_URL`).
pub async fn run(runtime: inlet_shared::lambda::Runtime) -> Result<(), lambda_runtime::Error> {
    use crate::fanout::ApiGatewayConnections;
    use lambda_runtime::{LambdaEvent, service_fn};

    let table = runtime
        .wiring
        .hub_table
        .clone()
        .map(|name| HubTable::new(aws_sdk_dynamodb::Client::new(&runtime.aws), name));
    let connections = runtime
        .wiring
        .hub_connections_url
        .as_deref()
        .map(|url| ApiGatewayConnections::new(&runtime.aws, url));
    let hub = Hub::new(runtime.config, runtime.publisher);
    let hub = &hub;
    let reach = Reach {
        table: table.as_ref(),
        connections: connections.as_ref().map(|c| c as &dyn Connections),
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let invocation = Invocation::from_event(event.payload)?;
        let answer = handle(hub, reach, invocation).await;
        inlet_shared::telemetry::emf::flush();
        Ok::<_, lambda_runtime::Error>(answer?)
    }))
    .await
}
