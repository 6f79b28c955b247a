//! The HTTP write proxy: the Quix Streaming Writer API, wire-compatible, over
//! HTTP. Every write becomes CloudEvents records with the stream id as the
//! partition key, and is answered 200 only once every record is in the stream.

mod auth;
mod openapi;
pub mod payload;
mod samples;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use inlet_shared::config::{CorsOrigins, Topic};
use inlet_shared::http::{method_not_allowed, read_body, route_not_found};
use inlet_shared::model::{CloudEvent, event_type};
use inlet_shared::record::Record;
use inlet_shared::sink::Sink;
use inlet_shared::{Clock, Config, Error, Result, system_clock};
use serde::Serialize;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::Tokens;

/// The CloudEvents `source` of everything the Writer API publishes.
pub const SOURCE: &str = "/writer";

/// The write proxy's state, built once.
#[derive(Clone)]
pub struct Writer {
    config: Arc<Config>,
    sink: Arc<dyn Sink>,
    tokens: Tokens,
    clock: Clock,
}

impl Writer {
    /// A writer on the system clock.
    pub fn new(config: Arc<Config>, sink: Arc<dyn Sink>) -> Self {
        Writer {
            tokens: Tokens::new(&config),
            config,
            sink,
            clock: system_clock(),
        }
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Logs a warning when no token is configured (nothing can write).
    pub fn warn_if_unusable(&self) {
        if self.config.tokens.is_empty() {
            tracing::warn!("the Writer API has no [tokens.*] configured: every write gets 401");
        }
    }

    fn record(&self, ty: &str, topic: &Topic, stream_id: &str, data: &impl Serialize) -> Record {
        CloudEvent::new(
            SOURCE,
            ty,
            topic.name.clone(),
            stream_id,
            (self.clock)(),
            data,
        )
        .to_record()
    }

    async fn publish(
        &self,
        topic: &Topic,
        stream_id: &str,
        what: &str,
        records: Vec<Record>,
    ) -> Result<()> {
        let count = records.len();
        self.sink.put(topic, records).await?;
        tracing::info!(topic = %topic.name, stream_id, records = count, "{what} published");
        Ok(())
    }
}

/// One operation of the API: its method, its path, and the handler.
pub struct Endpoint {
    /// The HTTP method.
    pub method: Method,
    /// The path template, as in the OpenAPI document.
    pub path: &'static str,
    route: MethodRouter<Writer>,
}

impl Endpoint {
    fn new<H, T>(method: Method, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, Writer>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
        Endpoint {
            method,
            path,
            route: on(filter, handler),
        }
    }
}

/// Every operation the write proxy serves; the router and the OpenAPI test
/// both come from this one list.
pub fn endpoints() -> Vec<Endpoint> {
    const STREAM: &str = "/topics/{topic}/streams/{streamId}";
    vec![
        Endpoint::new(Method::POST, "/topics/{topic}/streams", create_stream),
        Endpoint::new(Method::PUT, STREAM, update_properties),
        Endpoint::new(
            Method::POST,
            "/topics/{topic}/streams/{streamId}/parameters/data",
            parameter_data,
        ),
        Endpoint::new(
            Method::POST,
            "/topics/{topic}/streams/{streamId}/events/data",
            event_data,
        ),
        Endpoint::new(
            Method::POST,
            "/topics/{topic}/streams/{streamId}/parameters/definitions",
            parameter_definitions,
        ),
        Endpoint::new(
            Method::POST,
            "/topics/{topic}/streams/{streamId}/events/definitions",
            event_definitions,
        ),
        Endpoint::new(
            Method::POST,
            "/topics/{topic}/streams/{streamId}/close",
            close_stream,
        ),
        Endpoint::new(Method::GET, "/openapi.json", openapi::serve),
        Endpoint::new(Method::GET, "/samples/{lang}", samples::serve),
    ]
}

/// The write proxy's routes without a fallback, for mounting beside others.
pub fn routes(writer: Writer) -> Router {
    let cors = cors_layer(&writer.config.writer.cors);
    let mut by_path: BTreeMap<&'static str, (Vec<Method>, MethodRouter<Writer>)> = BTreeMap::new();
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
    let router = router.with_state(writer);
    match cors {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// The write proxy's whole router, as served in Lambda.
pub fn router(writer: Writer) -> Router {
    routes(writer).fallback(route_not_found)
}

fn cors_layer(origins: &CorsOrigins) -> Option<CorsLayer> {
    let allow = match origins {
        CorsOrigins::None => return None,
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => AllowOrigin::list(
            list.iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        ),
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PUT])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .max_age(std::time::Duration::from_secs(3600)),
    )
}

/// Path parameters of a stream operation.
type StreamPath = Result<Path<(String, String)>, PathRejection>;

fn stream_path(path: StreamPath) -> Result<(String, String)> {
    let Path((topic, stream_id)) = path.map_err(|e| Error::BadRequest(e.body_text()))?;
    Ok((topic, stream_id))
}

/// The body of a request whose token was checked for the topic.
async fn authorized<'a>(
    writer: &'a Writer,
    headers: &HeaderMap,
    topic: &str,
    body: Body,
) -> Result<(&'a Topic, Bytes)> {
    let topic = writer.tokens.authorize(&writer.config, headers, topic)?;
    let body = read_body(headers, body, writer.config.writer.max_body_bytes).await?;
    Ok((topic, body))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    stream_id: String,
}

async fn create_stream(
    State(writer): State<Writer>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Created>> {
    let Path(topic) = path.map_err(|e| Error::BadRequest(e.body_text()))?;
    let (topic, body) = authorized(&writer, &headers, &topic, body).await?;
    let properties = payload::stream_properties(&body)?;
    let stream_id = uuid::Uuid::new_v4().to_string();
    let record = writer.record(
        event_type::STREAM_PROPERTIES,
        topic,
        &stream_id,
        &properties,
    );
    writer
        .publish(topic, &stream_id, "stream created", vec![record])
        .await?;
    Ok(Json(Created { stream_id }))
}

/// A write that becomes one record: parse the body, publish, answer 200.
async fn write_one<T: Serialize>(
    writer: &Writer,
    path: StreamPath,
    headers: &HeaderMap,
    body: Body,
    parse: fn(&[u8]) -> Result<T>,
    ty: &str,
    what: &str,
) -> Result<Response> {
    let (topic, stream_id) = stream_path(path)?;
    let (topic, body) = authorized(writer, headers, &topic, body).await?;
    let message = parse(&body)?;
    let record = writer.record(ty, topic, &stream_id, &message);
    writer
        .publish(topic, &stream_id, what, vec![record])
        .await?;
    Ok(ok())
}

async fn update_properties(
    State(writer): State<Writer>,
    path: StreamPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let ty = event_type::STREAM_PROPERTIES;
    write_one(
        &writer,
        path,
        &headers,
        body,
        payload::stream_properties,
        ty,
        "stream properties",
    )
    .await
}

async fn parameter_data(
    State(writer): State<Writer>,
    path: StreamPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let (topic, stream_id) = stream_path(path)?;
    let (topic, body) = authorized(&writer, &headers, &topic, body).await?;
    let data = payload::parameter_data(&body)?;
    let encode = |piece: &inlet_shared::model::ParameterData| {
        writer.record(event_type::PARAMETERS, topic, &stream_id, piece)
    };
    let records = payload::split_parameter_data(data, &encode)?;
    writer
        .publish(topic, &stream_id, "parameter data", records)
        .await?;
    Ok(ok())
}

async fn event_data(
    State(writer): State<Writer>,
    path: StreamPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let (topic, stream_id) = stream_path(path)?;
    let (topic, body) = authorized(&writer, &headers, &topic, body).await?;
    let records = payload::events(&body)?
        .iter()
        .map(|event| writer.record(event_type::EVENTS, topic, &stream_id, event))
        .collect();
    writer.publish(topic, &stream_id, "events", records).await?;
    Ok(ok())
}

async fn parameter_definitions(
    State(writer): State<Writer>,
    path: StreamPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let ty = event_type::DEFINITIONS;
    write_one(
        &writer,
        path,
        &headers,
        body,
        payload::parameter_definitions,
        ty,
        "parameter definitions",
    )
    .await
}

async fn event_definitions(
    State(writer): State<Writer>,
    path: StreamPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let ty = event_type::DEFINITIONS;
    write_one(
        &writer,
        path,
        &headers,
        body,
        payload::event_definitions,
        ty,
        "event definitions",
    )
    .await
}

async fn close_stream(
    State(writer): State<Writer>,
    path: StreamPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let ty = event_type::STREAM_END;
    write_one(
        &writer,
        path,
        &headers,
        body,
        payload::stream_end,
        ty,
        "stream end",
    )
    .await
}

/// The Writer API answers a write with 200 and no body.
fn ok() -> Response {
    axum::http::StatusCode::OK.into_response()
}

#[cfg(test)]
mod tests;
