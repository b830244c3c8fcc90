//! The check every reply goes through, as osquery makes it: a redirect is reported (never
//! followed), a status other than 2xx is a failure, the body must be a JSON object, and the
//! object may say the node key is invalid (`node_invalid`) or carry an `error`.

use serde_json::{Map, Value};

/// How much of an unexpected body or redirect target an error quotes.
const QUOTED_CHARS: usize = 200;
/// How much of a JSON value that is not an object an error quotes.
const QUOTED_VALUE_CHARS: usize = 80;

/// A reply that does not give what the request asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("the server answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error(
        "the server answered HTTP {status}, a redirect to {location}; vigil follows no redirect \
         (it would carry the node key or enroll secret elsewhere): point --tls_hostname and the \
         endpoints at where the server really answers"
    )]
    Redirect { status: u16, location: String },
    #[error("the answer is not a JSON object ({detail})")]
    NotAnObject { detail: String },
    #[error("the server says this node's key is invalid; it enrolls again")]
    NodeInvalid,
    #[error("the server reported an error: {message}")]
    Server { message: String },
}

impl ReplyError {
    /// Whether the server answered and refused the request, as opposed to sending vigil
    /// elsewhere or disowning its node key: a distributed result refused this way too often is
    /// dropped.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::Status { .. } | Self::NotAnObject { .. } | Self::Server { .. }
        )
    }
}

fn quoted(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// The status line's verdict, before the body is read: a redirect (3xx) ends the exchange.
/// `location` is the `Location` header, when it is there and text.
pub fn check_status(status: u16, location: Option<&str>) -> Result<(), ReplyError> {
    if (300..400).contains(&status) {
        return Err(ReplyError::Redirect {
            status,
            location: quoted(location.unwrap_or("(no Location)"), QUOTED_CHARS),
        });
    }
    Ok(())
}

/// The reply's JSON object, once the status (not a redirect: see `check_status`) and the
/// object's `node_invalid` and `error` say it answers the request.
pub fn check(status: u16, body: &str) -> Result<Map<String, Value>, ReplyError> {
    if !(200..300).contains(&status) {
        return Err(ReplyError::Status {
            status,
            body: quoted(body, QUOTED_CHARS),
        });
    }
    let answer = match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(map)) => map,
        Ok(other) => {
            return Err(ReplyError::NotAnObject {
                detail: format!("got {}", quoted(&other.to_string(), QUOTED_VALUE_CHARS)),
            });
        }
        Err(error) => {
            return Err(ReplyError::NotAnObject {
                detail: error.to_string(),
            });
        }
    };
    if answer.get("node_invalid").and_then(Value::as_bool) == Some(true) {
        return Err(ReplyError::NodeInvalid);
    }
    if let Some(message) = answer.get("error").and_then(Value::as_str) {
        return Err(ReplyError::Server {
            message: message.to_owned(),
        });
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_is_reported_with_where_it_points() {
        assert_eq!(check_status(200, None), Ok(()));
        assert_eq!(check_status(500, Some("x")), Ok(()), "not a redirect");
        let error = check_status(307, Some("https://elsewhere/enroll")).expect_err("redirect");
        assert!(
            error.to_string().starts_with(
                "the server answered HTTP 307, a redirect to https://elsewhere/enroll"
            )
        );
        let error = check_status(301, None).expect_err("redirect");
        assert!(error.to_string().contains("(no Location)"), "{error}");
        let long = "é".repeat(1000);
        let Err(ReplyError::Redirect { location, .. }) = check_status(302, Some(&long)) else {
            panic!("a redirect");
        };
        assert_eq!(location.chars().count(), QUOTED_CHARS);
    }

    #[test]
    fn every_way_a_reply_fails_is_told_apart() {
        assert_eq!(
            check(500, "internal error"),
            Err(ReplyError::Status {
                status: 500,
                body: "internal error".into()
            })
        );
        assert_eq!(
            check(200, "[1,2]"),
            Err(ReplyError::NotAnObject {
                detail: "got [1,2]".into()
            })
        );
        assert!(matches!(
            check(200, "<html>not json{"),
            Err(ReplyError::NotAnObject { .. })
        ));
        assert_eq!(
            check(
                200,
                r#"{"node_invalid": true, "error": "bad enroll secret"}"#
            ),
            Err(ReplyError::NodeInvalid),
            "node_invalid comes first"
        );
        assert_eq!(
            check(200, r#"{"error": "no such node"}"#),
            Err(ReplyError::Server {
                message: "no such node".into()
            })
        );
        let answer = check(204, r#"{"node_invalid": false, "error": 5, "x": 1}"#).expect("fine");
        assert_eq!(answer["x"], 1);
    }

    #[test]
    fn refusals_are_answers_not_redirects_or_invalid_keys() {
        let refusals = [
            check(500, ""),
            check(200, "null"),
            check(200, r#"{"error": "full"}"#),
        ];
        for error in refusals {
            assert!(error.expect_err("fails").is_refusal());
        }
        assert!(!ReplyError::NodeInvalid.is_refusal());
        assert!(!check_status(307, None).expect_err("redirect").is_refusal());
    }
}
