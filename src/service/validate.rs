//! Checks an article against everything it must satisfy before it is stored: front
//! matter, its content schema, the Markdown body and its snippet references. Pure: the
//! caller says which snippets exist.

use std::collections::BTreeSet;

use crate::content::file::ArticleSource;
use crate::content::{ArticleFile, ContentError, ParsedBody, parse_body, parse_inline_text};
use crate::schema::{FieldError, SchemaSet};

/// An article that passed every check.
#[derive(Debug, Clone)]
pub struct CheckedArticle {
    pub source: ArticleSource,
    pub body: ParsedBody,
    /// Snippet keys used by the body and the text fields.
    pub snippet_keys: BTreeSet<String>,
}

/// Validates the schema fields and body of an article source. Field errors come back as
/// [`FieldError`]s (for the API); `line_of` maps them to file lines (for the CLI).
pub fn check_source(
    source: ArticleSource,
    body_line: usize,
    schemas: &SchemaSet,
    snippet_exists: &dyn Fn(&str) -> bool,
) -> Result<CheckedArticle, Vec<FieldError>> {
    let mut errors = Vec::new();
    let schema = match schemas.get(&source.article_type) {
        Ok(s) => s,
        Err(e) => {
            return Err(vec![FieldError {
                path: "/type".into(),
                field: "type".into(),
                message: e.to_string(),
                message_zh: format!(
                    "未知的文章类型“{}”，可选：{}",
                    source.article_type,
                    schemas.names().join("、")
                ),
            }]);
        }
    };
    errors.extend(schema.validate_fields(&source.meta.fields));

    let mut keys = BTreeSet::new();
    // Snippet references in text fields.
    for (name, value) in &source.meta.fields {
        let texts: Vec<(String, &str)> = match value {
            serde_json::Value::String(s) => vec![(format!("/fields/{name}"), s.as_str())],
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.as_str().map(|s| (format!("/fields/{name}/{i}"), s)))
                .collect(),
            _ => Vec::new(),
        };
        for (path, text) in texts {
            match parse_inline_text(text) {
                Ok(inlines) => {
                    for inline in inlines {
                        if let crate::content::Inline::Snippet { key } = inline {
                            if !snippet_exists(key.as_str()) {
                                errors.push(unknown_snippet(&path, name, key.as_str()));
                            }
                            keys.insert(key.to_string());
                        }
                    }
                }
                Err(message) => errors.push(FieldError {
                    path,
                    field: name.clone(),
                    message_zh: format!("片段引用无效：{message}"),
                    message,
                }),
            }
        }
    }

    let body = match parse_body(&source.body, body_line) {
        Ok(body) => {
            for (key, line) in &body.snippet_refs {
                if !snippet_exists(key.as_str()) {
                    let mut e = unknown_snippet("/body", "body", key.as_str());
                    e.message = format!("line {line}: {}", e.message);
                    e.message_zh = format!("第 {line} 行：{}", e.message_zh);
                    errors.push(e);
                }
                keys.insert(key.to_string());
            }
            Some(body)
        }
        Err(errs) => {
            errors.extend(errs.into_iter().map(|e| FieldError {
                path: "/body".into(),
                field: "body".into(),
                message: format!("line {}: {}", e.line, e.message),
                message_zh: format!("第 {} 行：{}", e.line, e.message),
            }));
            None
        }
    };
    if schema.rules.body.required && source.body.trim().is_empty() {
        errors.push(FieldError {
            path: "/body".into(),
            field: "body".into(),
            message: "the body must not be empty".into(),
            message_zh: "正文不能为空".into(),
        });
    }
    match (errors.is_empty(), body) {
        (true, Some(body)) => Ok(CheckedArticle {
            source,
            body,
            snippet_keys: keys,
        }),
        _ => Err(errors),
    }
}

fn unknown_snippet(path: &str, field: &str, key: &str) -> FieldError {
    FieldError {
        path: path.into(),
        field: field.into(),
        message: format!("snippet '{key}' does not exist in this locale"),
        message_zh: format!("片段“{key}”在此语言中不存在"),
    }
}

/// Checks a whole file and reports problems as `line: message` (for the CLI).
pub fn check_file(
    text: &str,
    schemas: &SchemaSet,
    snippet_exists: &dyn Fn(&str) -> bool,
) -> Result<CheckedArticle, Vec<ContentError>> {
    let file = ArticleFile::parse(text)?;
    let source = file.check()?;
    check_source(source, file.body_line, schemas, snippet_exists).map_err(|errs| {
        errs.into_iter()
            .map(|e| {
                let line = if e.field == "body" {
                    // Body messages already carry their line; point at the body start.
                    e.message
                        .strip_prefix("line ")
                        .and_then(|r| r.split(':').next())
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(file.body_line)
                } else if e.field == "type" {
                    file.line_of("type")
                } else {
                    file.line_of(&format!("fields.{}", e.field))
                };
                let message = match e.message.split_once(": ") {
                    Some((prefix, rest)) if prefix.starts_with("line ") => rest.to_string(),
                    _ => e.message,
                };
                ContentError::field(
                    line,
                    e.path.trim_start_matches('/').replace('/', "."),
                    message,
                )
            })
            .collect()
    })
}
