//! RFC 6901 JSON Pointers: parsing into unescaped reference tokens, array
//! index rules, and re-escaping for error messages.
//!
//! Pointers are parsed once when a delta is read, so the application engine
//! only ever walks pre-split tokens. The number of tokens is capped at
//! [`MAX_DEPTH`] because a pointer can create that many nested objects.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use super::json::MAX_DEPTH;

/// A parsed JSON Pointer: the text as written plus its unescaped tokens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pointer {
    raw: String,
    tokens: Vec<String>,
}

/// Why a pointer string was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PointerError {
    /// A non-empty pointer must start with `/`.
    #[error("JSON pointer must be empty or start with '/'")]
    NoLeadingSlash,
    /// `~` not followed by `0` or `1`.
    #[error("JSON pointer has an invalid escape at byte {offset} ('~' must be followed by '0' or '1')")]
    BadEscape {
        /// Byte offset of the `~`.
        offset: usize,
    },
    /// More tokens than [`MAX_DEPTH`].
    #[error("JSON pointer has {count} tokens, over the limit of {MAX_DEPTH}")]
    TooDeep {
        /// Number of tokens in the refused pointer.
        count: usize,
    },
}

impl Pointer {
    /// Parses an RFC 6901 pointer (`""` is the whole document).
    pub fn parse(raw: &str) -> Result<Self, PointerError> {
        if raw.is_empty() {
            return Ok(Self::root());
        }
        let Some(body) = raw.strip_prefix('/') else {
            return Err(PointerError::NoLeadingSlash);
        };
        let count = body.split('/').count();
        if count > MAX_DEPTH {
            return Err(PointerError::TooDeep { count });
        }
        let mut tokens = Vec::with_capacity(count);
        let mut offset = 1;
        for piece in body.split('/') {
            tokens.push(unescape(piece, offset)?);
            offset += piece.len() + 1;
        }
        Ok(Pointer { raw: raw.to_owned(), tokens })
    }

    /// The pointer to the whole document, `""`.
    pub fn root() -> Self {
        Pointer { raw: String::new(), tokens: Vec::new() }
    }

    /// The pointer as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The unescaped reference tokens, outermost first.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// Whether this is `""`, the whole document.
    pub fn is_root(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Whether `self` names a strict ancestor of `other`'s location.
    pub fn is_proper_prefix_of(&self, other: &Pointer) -> bool {
        self.tokens.len() < other.tokens.len() && other.tokens.starts_with(&self.tokens)
    }
}

fn unescape(piece: &str, offset: usize) -> Result<String, PointerError> {
    if !piece.contains('~') {
        return Ok(piece.to_owned());
    }
    let mut out = String::with_capacity(piece.len());
    let mut chars = piece.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '0')) => out.push('~'),
            Some((_, '1')) => out.push('/'),
            _ => return Err(PointerError::BadEscape { offset: offset + i }),
        }
    }
    Ok(out)
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl TryFrom<String> for Pointer {
    type Error = PointerError;

    fn try_from(value: String) -> Result<Self, PointerError> {
        Pointer::parse(&value)
    }
}

impl Serialize for Pointer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for Pointer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Pointer::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Reads an RFC 6901 array index: `0` or digits without a leading zero.
/// `-` and anything else yield `None`.
pub(crate) fn array_index(token: &str) -> Option<usize> {
    let bytes = token.as_bytes();
    let well_formed = match bytes {
        [] => false,
        [b'0'] => true,
        [b'0', ..] => false,
        _ => bytes.iter().all(u8::is_ascii_digit),
    };
    if well_formed { token.parse().ok() } else { None }
}

/// Re-escapes tokens into pointer text, for messages about a location.
pub(crate) fn format_tokens(tokens: &[String]) -> String {
    let mut out = String::new();
    for token in tokens {
        out.push('/');
        out.push_str(&token.replace('~', "~0").replace('/', "~1"));
    }
    out
}

#[cfg(test)]
mod tests {
    //! Pointer syntax: escapes, array indices, limits.
    use super::*;

    #[test]
    fn parses_rfc6901_examples() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("/foo", &["foo"]),
            ("/foo/0", &["foo", "0"]),
            ("/", &[""]),
            ("/a~1b", &["a/b"]),
            ("/c%d", &["c%d"]),
            ("/m~0n", &["m~n"]),
            ("/~01", &["~1"]),
            ("//", &["", ""]),
        ];
        for (raw, want) in cases {
            let p = Pointer::parse(raw).unwrap();
            assert_eq!(p.tokens(), *want, "{raw}");
            assert_eq!(p.as_str(), *raw);
            assert_eq!(format_tokens(p.tokens()), *raw);
        }
    }

    #[test]
    fn rejects_bad_pointers() {
        assert_eq!(Pointer::parse("a"), Err(PointerError::NoLeadingSlash));
        assert_eq!(Pointer::parse("/a~2"), Err(PointerError::BadEscape { offset: 2 }));
        assert_eq!(Pointer::parse("/ok/x~"), Err(PointerError::BadEscape { offset: 5 }));
        let deep = "/a".repeat(MAX_DEPTH + 1);
        assert_eq!(Pointer::parse(&deep), Err(PointerError::TooDeep { count: MAX_DEPTH + 1 }));
        assert!(Pointer::parse(&"/a".repeat(MAX_DEPTH)).is_ok());
    }

    #[test]
    fn array_indices() {
        assert_eq!(array_index("0"), Some(0));
        assert_eq!(array_index("17"), Some(17));
        assert_eq!(array_index("01"), None);
        assert_eq!(array_index("-"), None);
        assert_eq!(array_index(""), None);
        assert_eq!(array_index("+1"), None);
        assert_eq!(array_index("1e3"), None);
        assert_eq!(array_index("99999999999999999999999999"), None);
    }

    #[test]
    fn prefixes() {
        let a = Pointer::parse("/a").unwrap();
        let ab = Pointer::parse("/a/b").unwrap();
        assert!(a.is_proper_prefix_of(&ab));
        assert!(!ab.is_proper_prefix_of(&a));
        assert!(!a.is_proper_prefix_of(&a));
        assert!(Pointer::root().is_proper_prefix_of(&a));
        let ax = Pointer::parse("/ab").unwrap();
        assert!(!a.is_proper_prefix_of(&ax));
    }
}
