//! The HTTP write proxy: the Quix Streaming Writer API, wire-compatible, over
//! HTTP. Every write becomes CloudEvents records with the stream id as the
//! partition key, and is answered 200 only once every record is in the stream.

mod openapi;
mod samples;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use inlet_shared::config::{ConfigHandle, Derived};
use inlet_shared::http::{cors_layer, method_not_allowed, read_body};
use inlet_shared::publish::Publisher;
use inlet_shared::service::{BannerSection, LocalContext, LocalService};
use inlet_shared::writer::{Message, MessageKind, QuixWriter, bearer_token};
use inlet_shared::{Config, Error, Result};
use serde::Serialize;

/// The write proxy's state: the Quix writer core, rebuilt when the
/// configuration is replaced; each request takes the current one.
#[derive(Clone)]
pub struct WriteProxy {
    writer: Arc<Derived<QuixWriter>>,
}

impl WriteProxy {
    /// A write proxy over `config`'s topics and tokens, publishing through
    /// `publisher`.
    pub fn new(config: impl Into<ConfigHandle>, publisher: Publisher) -> Self {
        let writer = Derived::new(config.into(), move |config| {
            QuixWriter::new(config, publisher.clone())
        });
        WriteProxy {
            writer: Arc::new(writer),
        }
    }

    /// The writer core of the current configuration.
    fn writer(&self) -> Arc<QuixWriter> {
        self.writer.current()
    }

    /// The writer core of the current configuration, loaded again first
    /// where its secrets have outlived their time to live (Lambda); a token
    /// that matches none loads them again once (at most once per 30 s), so
    /// a rotated token works at once.
    async fn writer_for(&self, token: &str) -> Arc<QuixWriter> {
        self.writer.config().fresh().await;
        let writer = self.writer.current();
        if writer.authenticate(token).is_err() && self.writer.config().reload_after_mismatch().await
        {
            return self.writer.current();
        }
        writer
    }

    /// The current configuration.
    fn config(&self) -> Arc<Config> {
        self.writer.config().current()
    }
}

/// What the Writer API warns about at start-up.
pub fn warnings(config: &Config) -> Vec<String> {
    if config.tokens.is_empty() {
        vec!["the Writer API has no [tokens.*] configured: every write gets 401".to_owned()]
    } else {
        Vec::new()
    }
}

/// The write proxy as the local runner (`inlet serve`) mounts it.
pub fn local(ctx: &LocalContext) -> LocalService {
    let base = &ctx.base_url;
    LocalService {
        routes: routes(WriteProxy::new(ctx.config.clone(), ctx.publisher.clone())),
        tasks: Vec::new(),
        banner: vec![BannerSection::new(
            "Writer API (Quix Streaming Writer API compatible):",
            vec![
                format!("base URL  {base}"),
                format!("OpenAPI   {base}/openapi.json"),
                format!("samples   {base}/samples/{{curl,javascript,python}}?topic=T&stream=S"),
            ],
        )],
        warnings: warnings(&ctx.config.current()),
    }
}

/// One operation of the API: its method, its path, and the handler.
pub struct Endpoint {
    /// The HTTP method.
    pub method: Method,
    /// The path template, as in the OpenAPI document.
    pub path: &'static str,
    route: MethodRouter<WriteProxy>,
}

impl Endpoint {
    fn new<H, T>(method: Method, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, WriteProxy>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
        Endpoint {
            method,
            path,
            route: on(filter, handler),
        }
    }

    /// A write of one kind of message to `/topics/{topic}/streams/{streamId}/...`.
    fn write(method: Method, path: &'static str, kind: MessageKind) -> Self {
        let handler = move |state, path: StreamPath, headers, body| async move {
            let Path((topic, stream_id)) = path.map_err(|e| Error::BadRequest(e.body_text()))?;
            write(kind, state, (topic, Some(stream_id)), headers, body).await
        };
        Endpoint::new(method, path, handler)
    }

    /// One event whose value is the raw body, at
    /// `/topics/{topic}/streams/{streamId}/events/{eventId}/value` (what the
    /// Quix Telegraf guide had Telegraf's HTTP output post to).
    fn event_value(method: Method, path: &'static str) -> Self {
        let handler = move |state: State<WriteProxy>, path: EventPath, headers, body| async move {
            let Path((topic, stream_id, event_id)) =
                path.map_err(|e| Error::BadRequest(e.body_text()))?;
            let now = state.writer().publisher().now();
            let message = move |body: &[u8]| Message::event_value(event_id, now, body);
            write_with(message, state, (topic, Some(stream_id)), headers, body).await
        };
        Endpoint::new(method, path, handler)
    }

    /// Stream creation at `/topics/{topic}/streams`, under a new stream id.
    fn create(method: Method, path: &'static str) -> Self {
        let handler = move |state, path: TopicPath, headers, body| async move {
            let Path(topic) = path.map_err(|e| Error::BadRequest(e.body_text()))?;
            write(MessageKind::Properties, state, (topic, None), headers, body).await
        };
        Endpoint::new(method, path, handler)
    }
}

/// Every operation the write proxy serves; the router and the OpenAPI test
/// both come from this one list.
pub fn endpoints() -> Vec<Endpoint> {
    const STREAM: &str = "/topics/{topic}/streams/{streamId}";
    use MessageKind::*;
    vec![
        Endpoint::create(Method::POST, "/topics/{topic}/streams"),
        Endpoint::write(Method::PUT, STREAM, Properties),
        Endpoint::write(
            Method::POST,
            "/topics/{topic}/streams/{streamId}/parameters/data",
            ParameterData,
        ),
        Endpoint::write(
            Method::POST,
            "/topics/{topic}/streams/{streamId}/events/data",
            Events,
        ),
        Endpoint::write(
            Method::POST,
            "/topics/{topic}/streams/{streamId}/parameters/definitions",
            ParameterDefinitions,
        ),
        Endpoint::write(
            Method::POST,
            "/topics/{topic}/streams/{streamId}/events/definitions",
            EventDefinitions,
        ),
        Endpoint::write(
            Method::POST,
            "/topics/{topic}/streams/{streamId}/close",
            End,
        ),
        // Forms the Quix documentation showed earlier: definitions by PUT,
        // and one event's raw value (the Telegraf guide).
        Endpoint::write(
            Method::PUT,
            "/topics/{topic}/streams/{streamId}/parameters",
            ParameterDefinitions,
        ),
        Endpoint::write(
            Method::PUT,
            "/topics/{topic}/streams/{streamId}/events",
            EventDefinitions,
        ),
        Endpoint::event_value(
            Method::POST,
            "/topics/{topic}/streams/{streamId}/events/{eventId}/value",
        ),
        Endpoint::new(Method::GET, "/openapi.json", openapi::serve),
        Endpoint::new(Method::GET, "/samples/{lang}", samples::serve),
    ]
}

/// The write proxy's routes without a fallback, for mounting beside others.
pub fn routes(proxy: WriteProxy) -> Router {
    let cors = cors_layer(&proxy.config().writer.cors);
    let mut by_path: BTreeMap<&'static str, (Vec<Method>, MethodRouter<WriteProxy>)> =
        BTreeMap::new();
    for endpoint in endpoints() {
        match by_path.remove(endpoint.path) {
            Some((mut methods, route)) => {
                methods.push(endpoint.method);
                by_path.insert(endpoint.path, (methods, route.merge(endpoint.route)));
            }
            None => {
                by_path.insert(endpoint.path, (vec![endpoint.method], endpoint.route));
            }
        }
    }
    let mut router = Router::new();
    for (path, (methods, route)) in by_path {
        let allow = methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        router = router.route(
            path,
            route.fallback(move || async move { method_not_allowed(&allow) }),
        );
    }
    let router = router.with_state(proxy);
    match cors {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// The write proxy's whole router, as served in Lambda.
pub fn router(proxy: WriteProxy) -> Router {
    inlet_shared::http::served(routes(proxy))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    stream_id: String,
}

/// The path of a stream operation: topic and stream id.
type StreamPath = Result<Path<(String, String)>, PathRejection>;
/// The path of a topic operation.
type TopicPath = Result<Path<String>, PathRejection>;
/// The path of one event's value: topic, stream id and event id.
type EventPath = Result<Path<(String, String, String)>, PathRejection>;

/// Every write: the token checked for the topic, the body read and parsed,
/// and the records published to the stream (a new one for a create).
/// Answered 200 (a create with its stream id) once durable.
async fn write(
    kind: MessageKind,
    state: State<WriteProxy>,
    target: (String, Option<String>),
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let parse = move |body: &[u8]| Message::parse(kind, body);
    write_with(parse, state, target, headers, body).await
}

/// [`write`] with the body turned into a message by `parse`.
async fn write_with(
    parse: impl FnOnce(&[u8]) -> Result<Message>,
    State(proxy): State<WriteProxy>,
    (topic, stream_id): (String, Option<String>),
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let token = bearer_token(&headers)?;
    let writer = proxy.writer_for(token).await;
    let topic = writer.authorize(token, &topic)?;
    let body = read_body(&headers, body, writer.config().writer.max_body_bytes).await?;
    let message = parse(&body)?;
    match stream_id {
        Some(stream_id) => {
            writer.write(topic, &stream_id, message).await?;
            Ok(axum::http::StatusCode::OK.into_response())
        }
        None => {
            let stream_id = writer.create_stream(topic, message).await?;
            Ok(Json(Created { stream_id }).into_response())
        }
    }
}

#[cfg(test)]
mod tests;
