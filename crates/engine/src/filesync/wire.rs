//! `POST /build` on a connection of our own ([`crate::dial::Dialer`]): bollard's BuildKit
//! `build_image` opens a session of its own under the build's session id, which would race
//! ours.

use std::pin::Pin;

use bollard::models::BuildInfo;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Incoming;

use crate::dial::Dialer;

/// `POST /build` with an empty body (the context comes through the session) and its JSON
/// stream, item by item, as bollard's `build_image` would yield it.
pub fn build(
    dialer: Dialer,
    path_and_query: String,
) -> Pin<Box<dyn Stream<Item = Result<BuildInfo, bollard::errors::Error>> + Send>> {
    use bollard::errors::Error as E;
    let io_err = |e: String| E::IOError {
        err: std::io::Error::other(e),
    };
    let start = async move {
        let req = Request::post(path_and_query)
            .header("Host", "docker")
            .header("Content-Type", "application/x-tar")
            .body(Empty::<Bytes>::new())
            .map_err(|e| io_err(e.to_string()))?;
        let resp = dialer.send(req).await.map_err(io_err)?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("message")?.as_str().map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
            return Err(E::DockerResponseServerError {
                status_code: status.as_u16(),
                message,
            });
        }
        Ok(resp.into_body())
    };
    let stream = futures_util::stream::once(start).flat_map(|body| match body {
        Err(e) => futures_util::stream::iter(vec![Err(e)]).boxed(),
        Ok(body) => json_items(body).boxed(),
    });
    Box::pin(stream)
}

/// The engine's stream of JSON objects, split wherever the chunks fall.
fn json_items(body: Incoming) -> impl Stream<Item = Result<BuildInfo, bollard::errors::Error>> {
    futures_util::stream::unfold(
        (body, Vec::<u8>::new(), false),
        |(mut body, mut buf, done)| async move {
            loop {
                let mut items = serde_json::Deserializer::from_slice(&buf).into_iter::<BuildInfo>();
                match items.next() {
                    Some(Ok(info)) => {
                        let used = items.byte_offset();
                        buf.drain(..used);
                        return Some((Ok(into_result(info)), (body, buf, done)));
                    }
                    Some(Err(e)) if !e.is_eof() => {
                        let err = bollard::errors::Error::JsonSerdeError { err: e };
                        return Some((Err(err), (body, Vec::new(), true)));
                    }
                    _ if done => return None,
                    _ => {}
                }
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            buf.extend_from_slice(&data);
                        }
                    }
                    Some(Err(e)) => {
                        let err = bollard::errors::Error::HyperResponseError { err: e };
                        return Some((Err(err), (body, Vec::new(), true)));
                    }
                    None => {
                        if buf.iter().all(u8::is_ascii_whitespace) {
                            return None;
                        }
                        return Some((
                            Err(bollard::errors::Error::IOError {
                                err: std::io::Error::new(
                                    std::io::ErrorKind::UnexpectedEof,
                                    "the engine's answer stopped mid-message",
                                ),
                            }),
                            (body, Vec::new(), true),
                        ));
                    }
                }
            }
        },
    )
    .map(|r| r.and_then(|x| x))
}

/// An `errorDetail` in the stream is the build's failure, as bollard reports it.
fn into_result(info: BuildInfo) -> Result<BuildInfo, bollard::errors::Error> {
    match info.error_detail.as_ref().and_then(|d| d.message.clone()) {
        Some(error) => Err(bollard::errors::Error::DockerStreamError { error }),
        None => Ok(info),
    }
}
