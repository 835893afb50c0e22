//! The built-in evidence schema, checked without building a JSON tree.
//!
//! Nearly every evidence line has the built-in shape (`tool`, `timestamp`, `doc_ref`,
//! `request_id`, `purpose`, all strings). Deserializing such a line straight into borrowed
//! fields costs a fraction of building a `serde_json::Value` and walking it with the schema
//! validator, which is what a million-line file spends its time on. The quick check only ever
//! says "valid by the built-in schema": any line it is not sure of — a duplicate key, a
//! non-string value, a missing field, a `doc_ref` the schema's own `uri` format refuses, JSON
//! it cannot read — goes the full way, which finds and words every problem. So the findings
//! are the same with or without it (a test compares them), only faster.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;

/// One top-level value of the line, as far as the built-in schema cares.
#[derive(Debug, Default)]
enum Field<'a> {
    #[default]
    Absent,
    Str(Cow<'a, str>),
    /// Present but not a string (`null`, a number, an object, …).
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Field<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Field<'a>, E> {
                Ok(Field::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Field<'a>, E> {
                Ok(Field::Str(Cow::Owned(s.to_string())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Field<'a>, E> {
                Ok(Field::Str(Cow::Owned(s)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Field<'a>, E> {
                Ok(Field::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Field<'a>, E> {
                Ok(Field::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Field<'a>, E> {
                Ok(Field::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Field<'a>, E> {
                Ok(Field::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Field<'a>, E> {
                Ok(Field::Other)
            }
            fn visit_none<E: de::Error>(self) -> Result<Field<'a>, E> {
                Ok(Field::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Field<'a>, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Field::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Field<'a>, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Field::Other)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The properties of the built-in schema. Other keys are allowed and ignored, as the schema
/// allows them; a key given twice is an error here, so such a line goes the full way.
#[derive(Deserialize)]
struct BuiltinLine<'a> {
    #[serde(borrow, default)]
    tool: Field<'a>,
    #[serde(borrow, default)]
    timestamp: Field<'a>,
    #[serde(borrow, default)]
    doc_ref: Field<'a>,
    #[serde(borrow, default)]
    request_id: Field<'a>,
    #[serde(borrow, default)]
    purpose: Field<'a>,
}

/// The timestamp of `raw` when the line is certainly valid by the built-in schema, whose
/// `doc_ref` property `doc_ref` validates; `None` when the full check must decide.
pub fn valid_timestamp<'a>(raw: &'a str, doc_ref: &jsonschema::Validator) -> Option<Cow<'a, str>> {
    // A JSON array would fill the struct's fields by position: only objects qualify.
    if !raw.trim_start().starts_with('{') {
        return None;
    }
    let line: BuiltinLine<'a> = serde_json::from_str(raw).ok()?;
    let non_empty = |f: &Field| matches!(f, Field::Str(s) if !s.is_empty());
    let string_or_absent = |f: &Field| !matches!(f, Field::Other);
    if !(non_empty(&line.tool)
        && non_empty(&line.timestamp)
        && string_or_absent(&line.request_id)
        && string_or_absent(&line.purpose))
    {
        return None;
    }
    match &line.doc_ref {
        Field::Absent => {}
        Field::Str(s) => {
            if !doc_ref.is_valid(&serde_json::Value::String(s.to_string())) {
                return None;
            }
        }
        Field::Other => return None,
    }
    match line.timestamp {
        Field::Str(ts) => Some(ts),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_ref() -> jsonschema::Validator {
        jsonschema::options()
            .should_validate_formats(true)
            .build(&serde_json::json!({"type": "string", "format": "uri"}))
            .unwrap()
    }

    #[test]
    fn only_lines_the_schema_certainly_accepts_take_the_quick_way() {
        let v = doc_ref();
        let ok = r#"{"tool":"context7","timestamp":"2025-10-21T14:30:00Z","doc_ref":"https://x.dev/a","extra":[1,{"a":null}]}"#;
        assert_eq!(
            valid_timestamp(ok, &v).as_deref(),
            Some("2025-10-21T14:30:00Z")
        );
        assert_eq!(
            valid_timestamp(
                r#"{"tool":"c","timestamp":"2025-10-21T14:30:00\u005a"}"#,
                &v
            )
            .as_deref(),
            Some("2025-10-21T14:30:00Z")
        );
        for full_way in [
            r#"["context7","2025-10-21T14:30:00Z"]"#,
            r#"{"tool":"context7"}"#,
            r#"{"tool":"","timestamp":"t"}"#,
            r#"{"tool":null,"timestamp":"t"}"#,
            r#"{"tool":"c","timestamp":"t","doc_ref":null}"#,
            r#"{"tool":"c","timestamp":"t","doc_ref":"localhost modal"}"#,
            r#"{"tool":"c","timestamp":"t","purpose":7}"#,
            r#"{"tool":"c","timestamp":"t","tool":"d"}"#,
            r#"{"tool":"c","timestamp":"t"} x"#,
            r#"{"tool":"c","timestamp":"t""#,
        ] {
            assert!(valid_timestamp(full_way, &v).is_none(), "{full_way}");
        }
    }
}
