//! Human messages for JSON Schema errors, in en and zh-CN.

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};

use super::FieldError;

/// A message in both UI languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub en: String,
    pub zh: String,
}

fn msg(en: impl Into<String>, zh: impl Into<String>) -> Message {
    Message {
        en: en.into(),
        zh: zh.into(),
    }
}

fn type_name(kind: &TypeKind) -> (String, String) {
    let name = match kind {
        TypeKind::Single(t) => format!("{t:?}").to_lowercase(),
        TypeKind::Multiple(ts) => format!("{ts:?}").to_lowercase(),
    };
    let zh = match name.as_str() {
        "string" => "文本".to_string(),
        "array" => "列表".to_string(),
        "object" => "对象".to_string(),
        "number" | "integer" => "数字".to_string(),
        "boolean" => "是/否".to_string(),
        other => other.to_string(),
    };
    (name, zh)
}

pub(super) fn field_error(e: &ValidationError<'_>) -> FieldError {
    let mut path = format!("/fields{}", e.instance_path);
    let m = match &e.kind {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default().to_string();
            path = format!("/fields/{name}");
            msg("this field is required", "此字段为必填项")
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let name = unexpected.first().cloned().unwrap_or_default();
            path = format!("/fields/{name}");
            msg(
                format!(
                    "unknown field '{}' for this article type",
                    unexpected.join("', '")
                ),
                format!("此文章类型没有字段“{}”", unexpected.join("”、“")),
            )
        }
        ValidationErrorKind::MinLength { limit } if *limit <= 1 => {
            msg("must not be empty", "不能为空")
        }
        ValidationErrorKind::MinLength { limit } => msg(
            format!("must be at least {limit} characters"),
            format!("至少需要 {limit} 个字符"),
        ),
        ValidationErrorKind::MaxLength { limit } => msg(
            format!("must be at most {limit} characters"),
            format!("不能超过 {limit} 个字符"),
        ),
        ValidationErrorKind::MinItems { limit } => msg(
            format!("needs at least {limit} items"),
            format!("至少需要 {limit} 项"),
        ),
        ValidationErrorKind::MaxItems { limit } => msg(
            format!("may have at most {limit} items"),
            format!("最多 {limit} 项"),
        ),
        ValidationErrorKind::Type { kind } => {
            let (en, zh) = type_name(kind);
            msg(format!("must be a {en}"), format!("应为{zh}"))
        }
        ValidationErrorKind::Pattern { pattern } => msg(
            format!("has the wrong format (expected {pattern})"),
            format!("格式不正确（应匹配 {pattern}）"),
        ),
        ValidationErrorKind::Enum { options } => msg(
            format!("must be one of {options}"),
            format!("只能是以下之一：{options}"),
        ),
        _ => msg(e.to_string(), format!("取值无效：{e}")),
    };
    let field = path
        .trim_start_matches("/fields/")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    FieldError {
        path,
        field,
        message: m.en,
        message_zh: m.zh,
    }
}
