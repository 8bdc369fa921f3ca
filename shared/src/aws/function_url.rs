//! The Lambda function URL event (payload format 2.0) decoded into an `http` request, and an `http` response
//! encoded as the function URL response JSON — without `lambda_http`'s event decoding, which panics on hostile
//! input (a body marked base64 that is not, a host that is not a URL host, a path not starting with `/`, a query a
//! URI cannot hold: README "Fuzzing"). Here every such input is a [`DecodeError`] the caller answers.
//!
//! The request fields read (AWS Lambda developer guide, "Invoking Lambda function URLs", request payload):
//! `version` ("2.0"), `rawPath`, `rawQueryString`, `headers` (names lower-case, several values of one header
//! joined by commas), `cookies` (the `Cookie` header's pairs, as an array), `requestContext.http.method`,
//! `requestContext.http.path`, `requestContext.domainName`, `body` (absent without one), `isBase64Encoded`.
//! The response: `statusCode`, `headers`, `cookies` (the `Set-Cookie` values), `body`, `isBase64Encoded`.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::http::header::{COOKIE, HOST, SET_COOKIE};
use lambda_http::http::uri::{Authority, PathAndQuery, Scheme};
use lambda_http::http::{HeaderName, HeaderValue, Method, Uri};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};

/// Why an event is not a function URL request the hook can read. The messages name the field, never its value
/// (a header may carry the shared secret).
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the event is not a function URL event (payload format 2.0)")]
    Shape(#[source] serde_json::Error),
    #[error("the event's version is not 2.0")]
    Version,
    #[error("requestContext.http.method is not an HTTP method")]
    Method(#[source] lambda_http::http::method::InvalidMethod),
    #[error("the path does not start with '/'")]
    PathNotAbsolute,
    #[error("the path or query string is not one a URI can hold")]
    PathOrQuery(#[source] lambda_http::http::uri::InvalidUri),
    #[error("the host is not a URI host")]
    Host(#[source] lambda_http::http::uri::InvalidUri),
    #[error("the request URI does not build")]
    Uri(#[source] lambda_http::http::uri::InvalidUriParts),
    #[error("a header name is not an HTTP header name")]
    HeaderName(#[source] lambda_http::http::header::InvalidHeaderName),
    #[error("a header or cookie value is not an HTTP header value")]
    HeaderValue(#[source] lambda_http::http::header::InvalidHeaderValue),
    #[error("the body is marked base64 but is not base64")]
    Base64Body(#[source] base64::DecodeError),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    version: Option<String>,
    raw_path: Option<String>,
    raw_query_string: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    cookies: Option<Vec<String>>,
    request_context: RequestContext,
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext {
    domain_name: Option<String>,
    http: Http,
}

#[derive(Deserialize)]
struct Http {
    method: String,
    path: Option<String>,
}

/// The function URL event as the request `lambda_http` would have built from it (method, URI from host, path and
/// query, headers, cookies folded into one `Cookie` header, body decoded from base64 when marked so), or why not.
/// The body is not capped here: Lambda bounds the event (6 MB), and the hook caps the decoded body itself.
pub fn decode_request(event: Value) -> Result<Request, DecodeError> {
    let event: Event = serde_json::from_value(event).map_err(DecodeError::Shape)?;
    // UNVERIFIED whether AWS ever omits `version`; an absent one is read as 2.0.
    if event.version.as_deref().is_some_and(|v| v != "2.0") {
        return Err(DecodeError::Version);
    }
    let method = Method::from_bytes(event.request_context.http.method.as_bytes()).map_err(DecodeError::Method)?;

    let mut headers = lambda_http::http::HeaderMap::new();
    for (name, value) in &event.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(DecodeError::HeaderName)?;
        let value = HeaderValue::from_str(value).map_err(DecodeError::HeaderValue)?;
        headers.append(name, value);
    }
    if let Some(cookies) = event.cookies.filter(|c| !c.is_empty()) {
        let value = HeaderValue::from_str(&cookies.join("; ")).map_err(DecodeError::HeaderValue)?;
        headers.insert(COOKIE, value);
    }

    let path = match event.raw_path.or(event.request_context.http.path) {
        Some(path) if !path.is_empty() => path,
        _ => "/".to_owned(),
    };
    if !path.starts_with('/') {
        return Err(DecodeError::PathNotAbsolute);
    }
    let target = match event.raw_query_string.as_deref() {
        Some(query) if !query.is_empty() => format!("{path}?{query}"),
        _ => path,
    };
    let path_and_query = PathAndQuery::try_from(target).map_err(DecodeError::PathOrQuery)?;
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or(event.request_context.domain_name);
    let mut parts = lambda_http::http::uri::Parts::default();
    parts.path_and_query = Some(path_and_query);
    if let Some(host) = host {
        // Function URLs are served over HTTPS only (x-forwarded-proto is not read: it is always https there).
        parts.authority = Some(Authority::try_from(host).map_err(DecodeError::Host)?);
        parts.scheme = Some(Scheme::HTTPS);
    }
    let uri = Uri::from_parts(parts).map_err(DecodeError::Uri)?;

    let body = match event.body {
        None => Body::Empty,
        Some(body) if event.is_base64_encoded => Body::Binary(STANDARD.decode(body).map_err(DecodeError::Base64Body)?),
        Some(body) => Body::Text(body),
    };

    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

/// The response as the function URL response JSON, as `lambda_http` encodes it: `Set-Cookie` values go to
/// `cookies`, other headers to `headers` (several values of one name joined by commas), a binary body as base64.
pub fn encode_response(response: Response<Body>) -> Value {
    let (parts, body) = response.into_parts();
    let mut headers: BTreeMap<&str, String> = BTreeMap::new();
    let mut cookies: Vec<String> = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == SET_COOKIE {
            cookies.push(value);
            continue;
        }
        headers
            .entry(name.as_str())
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    let (body, is_base64_encoded) = match body {
        Body::Empty => (Value::Null, false),
        Body::Text(text) => (Value::String(text), false),
        Body::Binary(bytes) => (Value::String(STANDARD.encode(bytes)), true),
        _ => (Value::Null, false),
    };
    json!({
        "statusCode": parts.status.as_u16(),
        "headers": headers,
        "cookies": cookies,
        "body": body,
        "isBase64Encoded": is_base64_encoded,
    })
}

#[cfg(test)]
mod tests {
    use lambda_http::http::StatusCode;

    use super::*;

    /// One change to an event.
    type Change = fn(&mut Value);
    /// Whether an error is the expected one.
    type Expected = fn(&DecodeError) -> bool;

    fn deactivation() -> Value {
        serde_json::from_str(include_str!("../../../events/okta-hook/user-deactivated.json")).unwrap()
    }

    #[test]
    fn a_well_formed_event_becomes_the_request_it_describes() {
        let mut event = deactivation();
        event["rawPath"] = json!("/hook/okta");
        event["rawQueryString"] = json!("a=1&a=2&b=%20x");
        event["headers"]["accept"] = json!("application/json,text/plain");
        event["headers"]["X-Mixed-Case"] = json!("kept");
        event["cookies"] = json!(["c1=v1", "c2=v2"]);
        let request = decode_request(event.clone()).unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(
            request.uri().to_string(),
            "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/hook/okta?a=1&a=2&b=%20x"
        );
        assert_eq!(request.uri().query(), Some("a=1&a=2&b=%20x"));
        // A multi-value header arrives comma-joined and is passed on as AWS joined it.
        assert_eq!(request.headers()["accept"], "application/json,text/plain");
        assert_eq!(request.headers()["x-mixed-case"], "kept");
        assert_eq!(request.headers()[COOKIE], "c1=v1; c2=v2");
        assert_eq!(
            request.headers()["authorization"],
            "test-hook-secret-not-for-production"
        );
        let Body::Text(body) = request.body() else {
            panic!("a text body")
        };
        assert_eq!(Some(body.as_str()), event["body"].as_str());
    }

    #[test]
    fn a_base64_body_is_decoded_to_the_same_bytes() {
        let plain = deactivation();
        let mut event = plain.clone();
        let text = plain["body"].as_str().unwrap();
        event["isBase64Encoded"] = json!(true);
        event["body"] = json!(STANDARD.encode(text));
        let request = decode_request(event).unwrap();
        assert_eq!(request.body().as_ref(), text.as_bytes());
        assert!(matches!(request.body(), Body::Binary(_)));
    }

    #[test]
    fn a_missing_host_body_and_path_give_a_relative_uri_and_an_empty_body() {
        let mut event = deactivation();
        let object = event.as_object_mut().unwrap();
        object.remove("rawPath");
        object.remove("body");
        object["headers"].as_object_mut().unwrap().remove("host");
        object["requestContext"].as_object_mut().unwrap().remove("domainName");
        object["requestContext"]["http"].as_object_mut().unwrap().remove("path");
        let request = decode_request(event).unwrap();
        assert_eq!(request.uri().to_string(), "/");
        assert!(matches!(request.body(), Body::Empty));
    }

    #[test]
    fn each_shape_lambda_http_panicked_on_is_an_error_naming_the_field() {
        let cases: [(Change, Expected); 4] = [
            (
                |e| {
                    e["isBase64Encoded"] = json!(true);
                    e["body"] = json!("not base64!");
                },
                |err| matches!(err, DecodeError::Base64Body(_)),
            ),
            (
                |e| e["headers"]["host"] = json!("exa mple.com"),
                |err| matches!(err, DecodeError::Host(_)),
            ),
            (
                |e| e["rawPath"] = json!("x:1x"),
                |err| matches!(err, DecodeError::PathNotAbsolute),
            ),
            (
                |e| e["rawQueryString"] = json!("q=\"{|}\""),
                |err| matches!(err, DecodeError::PathOrQuery(_)),
            ),
        ];
        for (change, expected) in cases {
            let mut event = deactivation();
            change(&mut event);
            let err = decode_request(event).unwrap_err();
            assert!(expected(&err), "{err:?}");
            assert!(std::error::Error::source(&err).is_some() || matches!(err, DecodeError::PathNotAbsolute));
        }
    }

    #[test]
    fn another_payload_version_and_a_non_string_header_are_refused() {
        let mut event = deactivation();
        event["version"] = json!("1.0");
        assert!(matches!(decode_request(event), Err(DecodeError::Version)));
        let mut event = deactivation();
        event["headers"]["x-n"] = json!(5);
        assert!(matches!(decode_request(event), Err(DecodeError::Shape(_))));
        assert!(matches!(decode_request(json!("a string")), Err(DecodeError::Shape(_))));
    }

    #[test]
    fn a_response_is_encoded_as_lambda_http_encodes_it() {
        let mut response = Response::new(Body::Text("{\"ok\":true}".into()));
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        let headers = response.headers_mut();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.append("vary", HeaderValue::from_static("a"));
        headers.append("vary", HeaderValue::from_static("b"));
        headers.append(SET_COOKIE, HeaderValue::from_static("s=1"));
        assert_eq!(
            encode_response(response),
            json!({
                "statusCode": 405,
                "headers": {"content-type": "application/json", "vary": "a,b"},
                "cookies": ["s=1"],
                "body": "{\"ok\":true}",
                "isBase64Encoded": false,
            })
        );
        let binary = encode_response(Response::new(Body::Binary(vec![0, 255])));
        assert_eq!(binary["body"], "AP8=");
        assert_eq!(binary["isBase64Encoded"], true);
        assert_eq!(binary["statusCode"], 200);
    }
}
