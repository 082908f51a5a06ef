//! Article and snippet files: YAML front matter between `---` lines, then Markdown.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::{ContentError, dates};
use crate::domain::{ArticleMeta, Audience, Confidence, Locale, Slug, SnippetKey, Validity};

/// The front matter of an article file. Field order here is the order export writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    pub slug: String,
    #[serde(rename = "type")]
    pub article_type: String,
    pub locale: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translation_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// An article file, parsed but not yet checked against its content schema.
#[derive(Debug, Clone)]
pub struct ArticleFile {
    pub front: FrontMatter,
    pub body: String,
    /// 1-based line of the file where the body starts.
    pub body_line: usize,
    /// 1-based lines of top-level keys and of `fields:` entries (`fields.NAME`).
    key_lines: HashMap<String, usize>,
}

/// The checked identity and metadata of an article file.
#[derive(Debug, Clone)]
pub struct ArticleSource {
    pub slug: Slug,
    pub locale: Locale,
    pub article_type: String,
    pub translation_key: String,
    pub confidence: Option<Confidence>,
    pub meta: ArticleMeta,
    pub body: String,
}

/// Reads a file as UTF-8 text, with a line number when it is not UTF-8.
pub fn decode_utf8(bytes: &[u8]) -> Result<String, ContentError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.replace("\r\n", "\n")),
        Err(e) => {
            let line = 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            Err(ContentError::at(
                line,
                "file is not valid UTF-8 text (save it as UTF-8)",
            ))
        }
    }
}

/// Splits `---\nYAML\n---\nBODY`. Returns (yaml, body, body's first line).
fn split_front_matter(text: &str) -> Result<(&str, &str, usize), ContentError> {
    let rest = text.strip_prefix("---\n").ok_or_else(|| {
        ContentError::at(
            1,
            "file must start with a '---' line opening the front matter",
        )
    })?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            let yaml = &rest[..offset];
            let body = &rest[offset + line.len()..];
            let body_line = 2 + yaml.matches('\n').count() + 1;
            return Ok((yaml, body, body_line));
        }
        offset += line.len();
    }
    Err(ContentError::at(
        1,
        "front matter is not closed by a '---' line",
    ))
}

/// Lines of top-level keys and of keys nested one level under `fields:`.
fn index_keys(yaml: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    let mut in_fields = false;
    for (i, line) in yaml.lines().enumerate() {
        let lineno = i + 2; // the yaml starts on line 2
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indented = line.starts_with(' ') || line.starts_with('\t');
        let key = line
            .trim_start()
            .split(':')
            .next()
            .unwrap_or_default()
            .trim();
        if !indented {
            in_fields = key == "fields";
            out.entry(key.to_string()).or_insert(lineno);
        } else if in_fields && !key.starts_with('-') && !key.is_empty() {
            out.entry(format!("fields.{key}")).or_insert(lineno);
        }
    }
    out
}

impl ArticleFile {
    pub fn parse(text: &str) -> Result<Self, Vec<ContentError>> {
        let (yaml, body, body_line) = split_front_matter(text).map_err(|e| vec![e])?;
        let key_lines = index_keys(yaml);
        let front: FrontMatter = serde_norway::from_str(yaml).map_err(|e| {
            let msg = yaml_message(&e);
            // For an unknown key, point at the key itself rather than its mapping.
            let key_line = msg
                .strip_prefix("unknown field `")
                .and_then(|r| r.split('`').next())
                .and_then(|k| key_lines.get(k).copied());
            let line = key_line.or(e.location().map(|l| l.line() + 1)).unwrap_or(1);
            vec![ContentError::at(line, msg)]
        })?;
        Ok(ArticleFile {
            front,
            body: body.to_string(),
            body_line,
            key_lines,
        })
    }

    /// The line of a front-matter key (`slug`) or field (`fields.issue`); 1 if unknown.
    pub fn line_of(&self, key: &str) -> usize {
        self.key_lines
            .get(key)
            .or_else(|| key.split('.').next().and_then(|k| self.key_lines.get(k)))
            .copied()
            .unwrap_or(1)
    }

    /// Checks identity and metadata (not the schema fields) and returns the article source.
    pub fn check(&self) -> Result<ArticleSource, Vec<ContentError>> {
        let f = &self.front;
        let mut errors = Vec::new();
        let mut err =
            |key: &str, msg: String| errors.push(ContentError::field(self.line_of(key), key, msg));

        let slug = f
            .slug
            .parse::<Slug>()
            .map_err(|e| err("slug", e.message))
            .ok();
        let locale = f
            .locale
            .parse::<Locale>()
            .map_err(|e| err("locale", e.message))
            .ok();
        if f.title.trim().is_empty() {
            err("title", "must not be empty".into());
        } else if f.title.chars().count() > 200 {
            err("title", "must be at most 200 characters".into());
        }
        let audience = match &f.audience {
            None => Some(Audience::Public),
            Some(a) => a
                .parse::<Audience>()
                .map_err(|e| err("audience", e.message))
                .ok(),
        };
        let confidence = match &f.confidence {
            None => None,
            Some(c) => c
                .parse::<Confidence>()
                .map_err(|e| err("confidence", e.message))
                .ok(),
        };
        let mut date = |key: &str, v: &Option<String>| match v {
            None => None,
            Some(s) => dates::parse(s).map_err(|m| err(key, m)).ok(),
        };
        let validity = Validity {
            effective_from: date("effective_from", &f.effective_from),
            expires_at: date("expires_at", &f.expires_at),
            review_by: date("review_by", &f.review_by),
        };
        if let (Some(from), Some(to)) = (validity.effective_from, validity.expires_at)
            && to <= from
        {
            err("expires_at", "must be after effective_from".into());
        }
        if let Some(c) = &f.category
            && c.split('/').any(|part| part.trim().is_empty())
        {
            err(
                "category",
                format!("'{c}' has an empty part: use a path like 宽带/故障"),
            );
        }
        if f.tags.iter().any(|t| t.trim().is_empty()) {
            err("tags", "tags must not be empty strings".into());
        }
        if let Some(k) = &f.translation_key
            && (k.trim().is_empty() || k.len() > 120)
        {
            err("translation_key", "must be 1 to 120 characters".into());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let (Some(slug), Some(locale), Some(audience)) = (slug, locale, audience) else {
            return Err(errors);
        };
        Ok(ArticleSource {
            translation_key: f
                .translation_key
                .clone()
                .unwrap_or_else(|| slug.to_string()),
            slug,
            locale,
            article_type: f.article_type.clone(),
            confidence,
            meta: ArticleMeta {
                title: f.title.trim().to_string(),
                category: f.category.as_ref().map(|c| c.trim().to_string()),
                tags: f.tags.iter().map(|t| t.trim().to_string()).collect(),
                audience,
                validity,
                fields: f.fields.clone(),
            },
            body: self.body.clone(),
        })
    }

    /// Builds the file for an article (export).
    pub fn from_source(src: &ArticleSource) -> Self {
        let m = &src.meta;
        let front = FrontMatter {
            slug: src.slug.to_string(),
            article_type: src.article_type.clone(),
            locale: src.locale.to_string(),
            title: m.title.clone(),
            translation_key: Some(src.translation_key.clone()),
            category: m.category.clone(),
            tags: m.tags.clone(),
            audience: Some(m.audience.as_str().to_string()),
            effective_from: m.validity.effective_from.map(dates::format),
            expires_at: m.validity.expires_at.map(dates::format),
            review_by: m.validity.review_by.map(dates::format),
            confidence: src.confidence.map(|c| c.as_str().to_string()),
            fields: m.fields.clone(),
        };
        ArticleFile {
            front,
            body: src.body.clone(),
            body_line: 0,
            key_lines: HashMap::new(),
        }
    }

    /// A file from front matter and body built in memory (API requests).
    pub fn from_front(front: FrontMatter, body: String) -> Self {
        ArticleFile {
            front,
            body,
            body_line: 1,
            key_lines: HashMap::new(),
        }
    }

    pub fn to_markdown(&self) -> String {
        let yaml = serde_norway::to_string(&self.front).unwrap_or_default();
        let mut out = String::with_capacity(yaml.len() + self.body.len() + 8);
        out.push_str("---\n");
        out.push_str(&yaml);
        if !yaml.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("---\n");
        out.push_str(&self.body);
        out
    }
}

fn yaml_message(e: &serde_norway::Error) -> String {
    // serde's messages are good ("unknown field `foo`, expected one of …"); drop the
    // location suffix, the caller reports the line itself.
    let msg = e.to_string();
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

/// How a snippet's value should be spoken (SSML `say-as`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SayAs {
    Telephone,
    Cardinal,
    Currency,
    Date,
    Characters,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnippetFront {
    pub key: String,
    pub locale: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub say_as: Option<SayAs>,
    /// What a channel shows instead of the body (`ivr: 幺零零零零`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variants: BTreeMap<String, String>,
}

/// A snippet's parts before validation, from a file's front matter or an API request.
pub struct SnippetParts<'a> {
    pub key: &'a str,
    pub locale: &'a str,
    pub title: &'a str,
    pub say_as: Option<SayAs>,
    /// Channel name and text, as typed.
    pub variants: Vec<(&'a str, &'a str)>,
    pub body: &'a str,
}

/// The part of a snippet a problem is about.
#[derive(Debug, Clone, PartialEq)]
pub enum SnippetPart {
    Key,
    Locale,
    Title,
    /// A channel variant, by the channel name as typed.
    Variant(String),
    Body,
}

impl SnippetPart {
    /// The front-matter key (and API field) the part is written under.
    pub fn key(&self) -> &'static str {
        match self {
            SnippetPart::Key => "key",
            SnippetPart::Locale => "locale",
            SnippetPart::Title => "title",
            SnippetPart::Variant(_) => "variants",
            SnippetPart::Body => "body",
        }
    }
}

/// One broken snippet rule, in en and zh.
#[derive(Debug, Clone, PartialEq)]
pub struct SnippetProblem {
    pub part: SnippetPart,
    pub message: String,
    pub message_zh: String,
}

/// A snippet file: front matter and a one-line body.
#[derive(Debug, Clone, PartialEq)]
pub struct SnippetFile {
    pub key: SnippetKey,
    pub locale: Locale,
    pub title: String,
    pub say_as: Option<SayAs>,
    pub variants: BTreeMap<crate::domain::Channel, String>,
    pub body: String,
}

impl SnippetFile {
    pub fn parse(text: &str) -> Result<Self, Vec<ContentError>> {
        let (yaml, body, body_line) = split_front_matter(text).map_err(|e| vec![e])?;
        let lines = index_keys(yaml);
        let line = |k: &str| lines.get(k).copied().unwrap_or(1);
        let front: SnippetFront = serde_norway::from_str(yaml).map_err(|e| {
            let line = e.location().map(|l| l.line() + 1).unwrap_or(1);
            vec![ContentError::at(line, yaml_message(&e))]
        })?;
        SnippetFile::from_parts(SnippetParts {
            key: &front.key,
            locale: &front.locale,
            title: &front.title,
            say_as: front.say_as,
            variants: front
                .variants
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            body,
        })
        .map_err(|problems| {
            problems
                .into_iter()
                .map(|p| match p.part {
                    SnippetPart::Body => ContentError::at(body_line, p.message),
                    part => ContentError::field(line(part.key()), part.key(), p.message),
                })
                .collect()
        })
    }

    /// The one set of snippet rules, shared by snippet files (which report lines) and the
    /// snippet API (which reports JSON paths): every problem at once, in en and zh.
    pub fn from_parts(parts: SnippetParts<'_>) -> Result<Self, Vec<SnippetProblem>> {
        let mut problems = Vec::new();
        let mut problem = |part: SnippetPart, message: String, message_zh: String| {
            problems.push(SnippetProblem {
                part,
                message,
                message_zh,
            })
        };
        let key = parts
            .key
            .parse::<SnippetKey>()
            .map_err(|e| {
                problem(
                    SnippetPart::Key,
                    e.message.clone(),
                    format!("标识无效：{}", e.message),
                )
            })
            .ok();
        let locale = parts
            .locale
            .parse::<Locale>()
            .map_err(|e| {
                problem(
                    SnippetPart::Locale,
                    e.message.clone(),
                    format!("语言无效：{}", e.message),
                )
            })
            .ok();
        let title = parts.title.trim();
        if title.is_empty() {
            problem(
                SnippetPart::Title,
                "title must not be empty".into(),
                "标题不能为空".into(),
            );
        } else if title.chars().count() > 200 {
            problem(
                SnippetPart::Title,
                "title is longer than 200 characters".into(),
                "标题不能超过 200 个字符".into(),
            );
        }
        let mut variants = BTreeMap::new();
        for (name, value) in parts.variants {
            let part = SnippetPart::Variant(name.to_string());
            match name.parse::<crate::domain::Channel>() {
                Ok(_) if value.trim().is_empty() => problem(
                    part,
                    format!("the {name} variant is empty: remove it or give a value"),
                    format!("{name} 渠道的替代文本为空：请删除或填写"),
                ),
                Ok(_) if value.contains("{{snippet:") => problem(
                    part,
                    "snippets cannot reference other snippets".into(),
                    "片段不能引用其他片段".into(),
                ),
                Ok(c) => {
                    variants.insert(c, value.trim().to_string());
                }
                Err(e) => problem(part, e.message.clone(), format!("渠道无效：{}", e.message)),
            }
        }
        let body = parts.body.trim();
        if body.is_empty() {
            problem(
                SnippetPart::Body,
                "snippet body must not be empty".into(),
                "片段内容不能为空".into(),
            );
        } else if body.contains("{{snippet:") {
            problem(
                SnippetPart::Body,
                "snippets cannot reference other snippets".into(),
                "片段不能引用其他片段".into(),
            );
        }
        match (key, locale) {
            (Some(key), Some(locale)) if problems.is_empty() => Ok(SnippetFile {
                key,
                locale,
                title: title.to_string(),
                say_as: parts.say_as,
                variants,
                body: body.to_string(),
            }),
            _ => Err(problems),
        }
    }

    pub fn to_markdown(&self) -> String {
        let front = SnippetFront {
            key: self.key.to_string(),
            locale: self.locale.to_string(),
            title: self.title.clone(),
            say_as: self.say_as,
            variants: self
                .variants
                .iter()
                .map(|(c, v)| (c.as_str().to_string(), v.clone()))
                .collect(),
        };
        let yaml = serde_norway::to_string(&front).unwrap_or_default();
        format!("---\n{yaml}---\n{}\n", self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "---\nslug: broadband-no-internet\ntype: troubleshooting\nlocale: zh-CN\ntitle: 宽带无法上网怎么办\ncategory: 宽带/故障\ntags: [宽带, 光猫]\nexpires_at: 2027-01-01\nfields:\n  issue: 家里宽带突然无法上网。\n  cause: 光猫死机。\n---\n1. 重启光猫。\n";

    #[test]
    fn parses_and_round_trips() {
        let file = ArticleFile::parse(SAMPLE).unwrap();
        assert_eq!(file.body_line, 13);
        assert_eq!(file.line_of("fields.cause"), 11);
        let src = file.check().unwrap();
        assert_eq!(src.translation_key, "broadband-no-internet");
        let again = ArticleFile::parse(&ArticleFile::from_source(&src).to_markdown()).unwrap();
        let src2 = again.check().unwrap();
        assert_eq!(src2.meta, src.meta);
        assert_eq!(src2.body, src.body);
    }

    #[test]
    fn unknown_key_is_an_error_with_its_line() {
        let text = SAMPLE.replace("tags:", "colour: red\ntags:");
        let errs = ArticleFile::parse(&text).unwrap_err();
        assert_eq!(errs[0].line, 7, "{errs:?}");
        assert!(errs[0].message.contains("colour"), "{errs:?}");
    }

    #[test]
    fn bad_values_are_reported_together() {
        let text = SAMPLE
            .replace("broadband-no-internet", "Bad Slug")
            .replace("2027-01-01", "soon");
        let errs = ArticleFile::parse(&text).unwrap().check().unwrap_err();
        let lines: Vec<_> = errs
            .iter()
            .map(|e| (e.line, e.field.clone().unwrap()))
            .collect();
        assert_eq!(lines, vec![(2, "slug".into()), (8, "expires_at".into())]);
    }

    #[test]
    fn not_utf8() {
        let err = decode_utf8(b"---\nslug: a\n\xff\n").unwrap_err();
        assert_eq!(err.line, 3);
    }

    #[test]
    fn snippet_file() {
        let s = SnippetFile::parse("---\nkey: hotline\nlocale: zh-CN\ntitle: 客服热线\nsay_as: telephone\nvariants:\n  ivr: 幺零零零零\n---\n10000\n").unwrap();
        assert_eq!(s.body, "10000");
        assert_eq!(SnippetFile::parse(&s.to_markdown()).unwrap(), s);
    }
}
