//! Content schemas: `content-schemas/*.json` (JSON Schema 2020-12 with `x-omnikb`
//! annotations), loaded into a [`SchemaSet`] that validates an article's `fields`.
//!
//! Validation reports every problem at once, each with its JSON path and a message in
//! zh-CN and en, because editors fix a form in one pass, not one error at a time.

mod messages;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::Channel;

pub use messages::Message;

/// One field error: where (`/fields/question`) and what, in both UI languages.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON pointer into the article (`/fields/alternate_questions/2`, `/title`).
    pub path: String,
    /// The top-level field concerned (`question`), or the front-matter key (`title`).
    pub field: String,
    pub message: String,
    pub message_zh: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("{file}: {message}")]
    Load { file: String, message: String },
    #[error("unknown article type '{0}': expected one of {1}")]
    UnknownType(String, String),
}

/// Per-field annotations (`x-omnikb` on a property).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldRules {
    pub label: BTreeMap<String, String>,
    /// Channels that may show the field.
    pub channels: Vec<Channel>,
    /// Internal-only: agents and editors only, never a customer channel.
    pub internal: bool,
    /// The name of the field that replaces this one on voice (`summary_voice`).
    pub voice: Option<String>,
    /// This field is the voice alternative of that field (or of `body`).
    pub voice_of: Option<String>,
    /// UI hint: `text`, `textarea`, `list`.
    pub widget: Option<String>,
    /// Search weight for this field, when it should rank above ordinary fields.
    pub search_boost: Option<f32>,
    /// `article`: the values are slugs of other articles.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BodyRules {
    pub label: BTreeMap<String, String>,
    /// `answer`, `steps` or `text`: how renderers read the body.
    pub role: String,
    pub required: bool,
}

/// Type-level annotations (`x-omnikb` at the root).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TypeRules {
    #[serde(rename = "type")]
    pub name: String,
    pub label: BTreeMap<String, String>,
    pub body: BodyRules,
    /// Approvals a revision needs before it may be published (four-eyes: at least 1).
    pub approvals: u32,
    /// Verification interval: `review_by` is set this many days after publishing.
    pub verification_days: u32,
}

/// One loaded content schema.
#[derive(Debug)]
pub struct ContentSchema {
    pub name: String,
    pub rules: TypeRules,
    /// Field name -> rules, in schema order.
    pub fields: Vec<(String, FieldRules, Value)>,
    pub required: Vec<String>,
    /// The schema document as written (served by `GET /api/v1/schemas`).
    pub raw: Value,
    validator: jsonschema::Validator,
}

impl ContentSchema {
    pub fn from_json(file: &str, raw: Value) -> Result<Self, SchemaError> {
        let load = |message: String| SchemaError::Load {
            file: file.to_string(),
            message,
        };
        let validator = jsonschema::draft202012::new(&raw).map_err(|e| load(e.to_string()))?;
        let rules: TypeRules = serde_json::from_value(
            raw.get("x-omnikb")
                .cloned()
                .unwrap_or_else(|| Value::Object(Default::default())),
        )
        .map_err(|e| load(format!("x-omnikb: {e}")))?;
        if rules.name.is_empty() {
            return Err(load("x-omnikb.type (the type's name) is missing".into()));
        }
        let mut fields = Vec::new();
        if let Some(props) = raw.get("properties").and_then(Value::as_object) {
            for (name, prop) in props {
                let fr: FieldRules = serde_json::from_value(
                    prop.get("x-omnikb")
                        .cloned()
                        .unwrap_or_else(|| Value::Object(Default::default())),
                )
                .map_err(|e| load(format!("properties.{name}.x-omnikb: {e}")))?;
                fields.push((name.clone(), fr, prop.clone()));
            }
        }
        let required = raw
            .get("required")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        Ok(ContentSchema {
            name: rules.name.clone(),
            rules,
            fields,
            required,
            raw,
            validator,
        })
    }

    pub fn field(&self, name: &str) -> Option<&FieldRules> {
        self.fields
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, r, _)| r)
    }

    /// Whether a field may appear on a channel (internal fields only on the agent desk).
    pub fn field_visible(&self, name: &str, channel: Channel) -> bool {
        match self.field(name) {
            Some(rules) if rules.internal => channel == Channel::Agent,
            Some(rules) if !rules.channels.is_empty() => rules.channels.contains(&channel),
            Some(_) => true,
            None => false,
        }
    }

    /// Validates the `fields` object; every error, none skipped.
    pub fn validate_fields(&self, fields: &serde_json::Map<String, Value>) -> Vec<FieldError> {
        let instance = Value::Object(fields.clone());
        let mut out: Vec<FieldError> = self
            .validator
            .iter_errors(&instance)
            .map(|e| messages::field_error(&e))
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out.dedup_by(|a, b| a.path == b.path && a.message == b.message);
        out
    }
}

/// All content schemas in force, by type name. Cheap to clone; replaced whole on reload.
#[derive(Debug, Clone, Default)]
pub struct SchemaSet {
    schemas: Arc<BTreeMap<String, Arc<ContentSchema>>>,
}

/// The schemas shipped in the binary (used when no `content-schemas/` folder is found).
static BUNDLED: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/content-schemas");

impl SchemaSet {
    pub fn bundled() -> Result<Self, SchemaError> {
        let mut files = Vec::new();
        for f in BUNDLED.files() {
            if f.path().extension().is_some_and(|e| e == "json") {
                files.push((
                    f.path().display().to_string(),
                    f.contents_utf8().unwrap_or_default().to_string(),
                ));
            }
        }
        Self::from_sources(files)
    }

    /// Loads every `*.json` in a folder. Any broken file fails the whole load, so a bad
    /// edit never replaces a good set.
    pub fn load_dir(dir: &Path) -> Result<Self, SchemaError> {
        let entries = std::fs::read_dir(dir).map_err(|e| SchemaError::Load {
            file: dir.display().to_string(),
            message: e.to_string(),
        })?;
        let mut files = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).map_err(|e| SchemaError::Load {
                    file: path.display().to_string(),
                    message: e.to_string(),
                })?;
                files.push((path.display().to_string(), text));
            }
        }
        Self::from_sources(files)
    }

    pub fn from_sources(files: Vec<(String, String)>) -> Result<Self, SchemaError> {
        let mut map = BTreeMap::new();
        for (file, text) in files {
            let raw: Value = serde_json::from_str(&text).map_err(|e| SchemaError::Load {
                file: format!("{file}:{}", e.line()),
                message: e.to_string(),
            })?;
            let schema = ContentSchema::from_json(&file, raw)?;
            map.insert(schema.name.clone(), Arc::new(schema));
        }
        if map.is_empty() {
            return Err(SchemaError::Load {
                file: "content-schemas".into(),
                message: "no schemas found".into(),
            });
        }
        Ok(SchemaSet {
            schemas: Arc::new(map),
        })
    }

    pub fn get(&self, name: &str) -> Result<&Arc<ContentSchema>, SchemaError> {
        self.schemas
            .get(name)
            .ok_or_else(|| SchemaError::UnknownType(name.to_string(), self.names().join(", ")))
    }

    pub fn names(&self) -> Vec<String> {
        self.schemas.keys().cloned().collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<ContentSchema>> {
        self.schemas.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn bundled_has_five_types() {
        let set = SchemaSet::bundled().unwrap();
        assert_eq!(
            set.names(),
            vec![
                "announcement",
                "faq",
                "policy",
                "procedure",
                "troubleshooting"
            ]
        );
        assert_eq!(set.get("announcement").unwrap().rules.approvals, 2);
        assert!(set.get("blog").is_err());
    }

    #[test]
    fn reports_every_error_with_path_in_both_languages() {
        let set = SchemaSet::bundled().unwrap();
        let ts = set.get("troubleshooting").unwrap();
        let errs = ts.validate_fields(&fields(json!({
            "cause": "",
            "colour": "red",
            "related": ["ok-slug", "Not A Slug"],
        })));
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"/fields/issue"), "{errs:#?}");
        assert!(paths.contains(&"/fields/cause"), "{errs:#?}");
        assert!(paths.contains(&"/fields/colour"), "{errs:#?}");
        assert!(paths.contains(&"/fields/related/1"), "{errs:#?}");
        for e in &errs {
            assert!(!e.message.is_empty() && !e.message_zh.is_empty());
            assert!(
                e.message_zh
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{e:?}"
            );
        }
    }

    #[test]
    fn internal_fields_only_on_agent() {
        let set = SchemaSet::bundled().unwrap();
        let faq = set.get("faq").unwrap();
        assert!(faq.field_visible("internal_notes", Channel::Agent));
        for c in [Channel::Web, Channel::Ivr, Channel::Bot, Channel::Sms] {
            assert!(!faq.field_visible("internal_notes", c));
        }
        assert!(faq.field_visible("summary_voice", Channel::Ivr));
        assert!(!faq.field_visible("summary_voice", Channel::Web));
    }
}
