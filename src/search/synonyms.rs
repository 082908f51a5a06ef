//! Query-time synonyms: sets of equivalent terms per locale. Changing them needs no reindex.

use std::collections::HashMap;

use crate::domain::Locale;

use super::analysis::{self, normalize_str};

#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    /// Locale (as written, e.g. `zh-CN`) -> sets of normalised terms.
    sets: HashMap<String, Vec<SynonymSet>>,
}

/// One set of equivalent terms, each already analysed (as the index analyses text) into the
/// term sequence a query uses, so queries do not re-run the analyzer on every set.
#[derive(Debug, Clone)]
pub struct SynonymSet {
    terms: Vec<String>,
    chains: Vec<Vec<(usize, String)>>,
}

impl SynonymSet {
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// Per term: (position, token) sequence, empty when the term has no searchable token.
    pub fn chains(&self) -> &[Vec<(usize, String)>] {
        &self.chains
    }
}

impl Synonyms {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a set of equivalent terms (single words or short phrases) for a locale.
    pub fn add_set(&mut self, locale: &Locale, terms: Vec<String>) {
        let mut set: Vec<String> = terms
            .iter()
            .map(|t| normalize_str(t.trim()))
            .filter(|t| !t.is_empty())
            .collect();
        set.sort();
        set.dedup();
        if set.len() > 1 {
            let mut analyzer = analysis::omni_analyzer();
            let chains = set
                .iter()
                .map(|t| analysis::chain(&analysis::run(&mut analyzer, t)))
                .collect();
            self.sets
                .entry(locale.as_str().to_string())
                .or_default()
                .push(SynonymSet { terms: set, chains });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// The sets with a term occurring in the (normalised) query, for one locale or all.
    pub(crate) fn matching(&self, norm_query: &str, locale: Option<&Locale>) -> Vec<&SynonymSet> {
        let mut out: Vec<&SynonymSet> = Vec::new();
        for (loc, sets) in &self.sets {
            if locale.is_some_and(|l| l.as_str() != loc) {
                continue;
            }
            for set in sets {
                if set.terms.iter().any(|t| contains_term(norm_query, t)) {
                    out.push(set);
                }
            }
        }
        out
    }

    /// A telecom/bank set for zh-CN and en. Only true equivalents: a wrong synonym costs
    /// more ranking than a missing one.
    pub fn demo() -> Self {
        let mut s = Self::new();
        for (locale, terms) in Self::demo_sets() {
            s.add_set(&locale, terms);
        }
        s
    }

    /// The demo sets as (locale, terms), for storing them in the database.
    pub fn demo_sets() -> Vec<(Locale, Vec<String>)> {
        let zh = Locale::zh_cn();
        let en = Locale::en();
        let zh_sets: &[&[&str]] = &[
            &["宽带", "宽频", "上网", "网络"],
            &["套餐", "资费包", "资费套餐"],
            &["话费", "电话费"],
            &["流量", "数据流量", "上网流量"],
            &["sim", "sim卡", "手机卡", "电话卡"],
            &["挂失", "丢失", "丢了", "掉了"],
            &["转账", "汇款", "转钱", "打钱", "打款"],
            &["wifi", "wi-fi", "无线网", "无线网络", "wlan"],
            &["光猫", "调制解调器"],
            &["停机", "停了", "打不出去"],
            &["欠费", "欠钱", "没交钱"],
            &["营业厅", "网点", "门店"],
            &["网速慢", "网速很慢"],
            &["补卡", "补办", "换卡"],
            &["漫游", "出国", "境外"],
            &["密码", "口令"],
            &["iptv", "电视", "机顶盒"],
            &["携号转网", "转网", "换运营商"],
            &["诈骗", "骗子", "被骗"],
            &["信用卡", "贷记卡"],
        ];
        let en_sets: &[&[&str]] = &[
            &["broadband", "internet", "home internet", "fiber"],
            &["plan", "package", "tariff"],
            &["data", "mobile data", "data allowance"],
            &["sim", "sim card"],
            &["lost", "stolen"],
            &["transfer", "wire", "send money", "remittance"],
            &["wifi", "wi-fi", "wireless"],
            &["modem", "router", "gateway"],
            &["suspended", "cut off", "disconnected", "blocked"],
            &["store", "branch", "shop", "outlet"],
            &["password", "passcode"],
            &["bill", "invoice", "statement"],
            &["roaming", "abroad", "overseas"],
            &["porting", "switch provider", "keep my number"],
            &["scam", "fraud"],
            &["tv", "iptv", "television"],
            &["fee", "charge"],
        ];
        let mut out = Vec::new();
        for set in zh_sets {
            out.push((zh.clone(), set.iter().map(|t| t.to_string()).collect()));
        }
        for set in en_sets {
            out.push((en.clone(), set.iter().map(|t| t.to_string()).collect()));
        }
        out
    }
}

/// Substring match, on word boundaries for ASCII alphanumerics.
fn contains_term(hay: &str, term: &str) -> bool {
    let ascii_edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let mut from = 0;
    while let Some(i) = hay[from..].find(term) {
        let start = from + i;
        let end = start + term.len();
        let first = term.chars().next();
        let last = term.chars().last();
        let before = hay[..start].chars().last();
        let after = hay[end..].chars().next();
        let ok_before = !(ascii_edge(first) && ascii_edge(before));
        let ok_after = !(ascii_edge(last) && ascii_edge(after));
        if ok_before && ok_after {
            return true;
        }
        from = start + term.len().max(1);
        while !hay.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert!(contains_term("my sim card", "sim"));
        assert!(!contains_term("simple", "sim"));
        assert!(contains_term("手机卡丢了", "丢了"));
        assert!(contains_term("sim卡", "sim"));
    }
}
