//! Condition operators, the request context (three-valued: known, absent, unknown), policy
//! variables, and the residual formulas reported when the answer depends on unknown values.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

use crate::matcher::{ArnPattern, Glob, Tok};

// ---------------------------------------------------------------------------------------------
// Operators
// ---------------------------------------------------------------------------------------------

/// The base comparison of a condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BaseOp {
    /// `StringEquals`.
    StringEquals,
    /// `StringNotEquals`.
    StringNotEquals,
    /// `StringEqualsIgnoreCase`.
    StringEqualsIgnoreCase,
    /// `StringNotEqualsIgnoreCase`.
    StringNotEqualsIgnoreCase,
    /// `StringLike`.
    StringLike,
    /// `StringNotLike`.
    StringNotLike,
    /// `NumericEquals`.
    NumericEquals,
    /// `NumericNotEquals`.
    NumericNotEquals,
    /// `NumericLessThan`.
    NumericLessThan,
    /// `NumericLessThanEquals`.
    NumericLessThanEquals,
    /// `NumericGreaterThan`.
    NumericGreaterThan,
    /// `NumericGreaterThanEquals`.
    NumericGreaterThanEquals,
    /// `DateEquals`.
    DateEquals,
    /// `DateNotEquals`.
    DateNotEquals,
    /// `DateLessThan`.
    DateLessThan,
    /// `DateLessThanEquals`.
    DateLessThanEquals,
    /// `DateGreaterThan`.
    DateGreaterThan,
    /// `DateGreaterThanEquals`.
    DateGreaterThanEquals,
    /// `Bool`.
    Bool,
    /// `BinaryEquals`.
    BinaryEquals,
    /// `IpAddress`.
    IpAddress,
    /// `NotIpAddress`.
    NotIpAddress,
    /// `ArnEquals`.
    ArnEquals,
    /// `ArnLike`.
    ArnLike,
    /// `ArnNotEquals`.
    ArnNotEquals,
    /// `ArnNotLike`.
    ArnNotLike,
    /// `Null`.
    Null,
}

const BASE_OPS: &[(&str, BaseOp)] = &[
    ("StringEquals", BaseOp::StringEquals),
    ("StringNotEquals", BaseOp::StringNotEquals),
    ("StringEqualsIgnoreCase", BaseOp::StringEqualsIgnoreCase),
    (
        "StringNotEqualsIgnoreCase",
        BaseOp::StringNotEqualsIgnoreCase,
    ),
    ("StringLike", BaseOp::StringLike),
    ("StringNotLike", BaseOp::StringNotLike),
    ("NumericEquals", BaseOp::NumericEquals),
    ("NumericNotEquals", BaseOp::NumericNotEquals),
    ("NumericLessThan", BaseOp::NumericLessThan),
    ("NumericLessThanEquals", BaseOp::NumericLessThanEquals),
    ("NumericGreaterThan", BaseOp::NumericGreaterThan),
    ("NumericGreaterThanEquals", BaseOp::NumericGreaterThanEquals),
    ("DateEquals", BaseOp::DateEquals),
    ("DateNotEquals", BaseOp::DateNotEquals),
    ("DateLessThan", BaseOp::DateLessThan),
    ("DateLessThanEquals", BaseOp::DateLessThanEquals),
    ("DateGreaterThan", BaseOp::DateGreaterThan),
    ("DateGreaterThanEquals", BaseOp::DateGreaterThanEquals),
    ("Bool", BaseOp::Bool),
    ("BinaryEquals", BaseOp::BinaryEquals),
    ("IpAddress", BaseOp::IpAddress),
    ("NotIpAddress", BaseOp::NotIpAddress),
    ("ArnEquals", BaseOp::ArnEquals),
    ("ArnLike", BaseOp::ArnLike),
    ("ArnNotEquals", BaseOp::ArnNotEquals),
    ("ArnNotLike", BaseOp::ArnNotLike),
    ("Null", BaseOp::Null),
];

impl BaseOp {
    /// Whether the operator is a negated one (several policy values combine as NOR, and an
    /// absent key makes it true).
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            BaseOp::StringNotEquals
                | BaseOp::StringNotEqualsIgnoreCase
                | BaseOp::StringNotLike
                | BaseOp::NumericNotEquals
                | BaseOp::DateNotEquals
                | BaseOp::NotIpAddress
                | BaseOp::ArnNotEquals
                | BaseOp::ArnNotLike
        )
    }

    /// The positive operator a negated one is the complement of (itself when not negated).
    fn positive(self) -> BaseOp {
        match self {
            BaseOp::StringNotEquals => BaseOp::StringEquals,
            BaseOp::StringNotEqualsIgnoreCase => BaseOp::StringEqualsIgnoreCase,
            BaseOp::StringNotLike => BaseOp::StringLike,
            BaseOp::NumericNotEquals => BaseOp::NumericEquals,
            BaseOp::DateNotEquals => BaseOp::DateEquals,
            BaseOp::NotIpAddress => BaseOp::IpAddress,
            BaseOp::ArnNotEquals => BaseOp::ArnEquals,
            BaseOp::ArnNotLike => BaseOp::ArnLike,
            other => other,
        }
    }

    /// Whether policy values of this operator may contain policy variables.
    fn takes_variables(self) -> bool {
        matches!(
            self.positive(),
            BaseOp::StringEquals
                | BaseOp::StringEqualsIgnoreCase
                | BaseOp::StringLike
                | BaseOp::ArnEquals
                | BaseOp::ArnLike
        )
    }
}

/// A set-operator qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetOp {
    /// No qualifier.
    Single,
    /// `ForAnyValue:`.
    ForAnyValue,
    /// `ForAllValues:`.
    ForAllValues,
}

/// A parsed condition operator such as `ForAllValues:StringLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConditionOp {
    /// The comparison.
    pub base: BaseOp,
    /// `ForAnyValue:` / `ForAllValues:` qualifier.
    pub set: SetOp,
    /// The `IfExists` suffix.
    pub if_exists: bool,
}

impl ConditionOp {
    /// Parses an operator name (exact AWS spelling); `None` when unknown.
    pub fn parse(text: &str) -> Option<ConditionOp> {
        let (set, rest) = if let Some(r) = text.strip_prefix("ForAnyValue:") {
            (SetOp::ForAnyValue, r)
        } else if let Some(r) = text.strip_prefix("ForAllValues:") {
            (SetOp::ForAllValues, r)
        } else {
            (SetOp::Single, text)
        };
        let (if_exists, rest) = match rest.strip_suffix("IfExists") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let base = BASE_OPS.iter().find(|(n, _)| *n == rest).map(|(_, b)| *b)?;
        if base == BaseOp::Null && (if_exists || set != SetOp::Single) {
            return None;
        }
        Some(ConditionOp {
            base,
            set,
            if_exists,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Policy variables
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Policy text: `*` and `?` are wildcards where the element supports them.
    Text(String),
    /// `${key}` or `${key, 'default'}`.
    Var {
        key_lower: String,
        default: Option<String>,
    },
    /// `${*}`, `${?}`, `${$}`: a literal character.
    Escape(char),
}

/// A policy string that may contain policy variables (`${aws:username}`), defaults
/// (`${aws:username, 'none'}`) and escapes (`${*}`, `${?}`, `${$}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    text: String,
    parts: Vec<Part>,
    /// Pre-compiled ARN pattern when there is no variable.
    arn: Option<ArnPattern>,
}

/// Errors from parsing a policy string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `${` without its `}`.
    #[error("unterminated policy variable in `{0}`")]
    Unterminated(String),
}

/// The result of resolving a template against a context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Every variable resolved: the tokens (variable values and escapes are literal).
    Toks(Vec<Tok>),
    /// A variable has no value and no default: the element does not match.
    Unresolved,
    /// A variable's value is unknown (scan-time analysis).
    Unknown(String),
}

impl Template {
    /// Parses a policy string.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| TemplateError::Unterminated(text.to_string()))?;
            let inner = &after[..end];
            match inner {
                "*" => parts.push(Part::Escape('*')),
                "?" => parts.push(Part::Escape('?')),
                "$" => parts.push(Part::Escape('$')),
                _ => {
                    let (key, default) = match inner.split_once(',') {
                        Some((k, d)) => {
                            let d = d.trim();
                            let d = d
                                .strip_prefix('\'')
                                .and_then(|d| d.strip_suffix('\''))
                                .unwrap_or(d);
                            (k.trim(), Some(d.to_string()))
                        }
                        None => (inner.trim(), None),
                    };
                    parts.push(Part::Var {
                        key_lower: key.to_ascii_lowercase(),
                        default,
                    });
                }
            }
            rest = &after[end + 1..];
        }
        if !rest.is_empty() || parts.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        let arn = if parts.iter().all(|p| matches!(p, Part::Text(_))) {
            Some(ArnPattern::new(text))
        } else {
            None
        };
        Ok(Template {
            text: text.to_string(),
            parts,
            arn,
        })
    }

    /// The text as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the text holds a policy variable or escape.
    pub fn has_variables(&self) -> bool {
        self.arn.is_none()
    }

    /// The compiled ARN pattern when the text has no variable.
    pub fn static_arn(&self) -> Option<&ArnPattern> {
        self.arn.as_ref()
    }

    /// Resolves variables against `ctx`.
    pub fn resolve(&self, ctx: &Context) -> Resolved {
        let mut toks = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => toks.extend(crate::matcher::toks_of(t)),
                Part::Escape(c) => toks.push(Tok::Lit(*c)),
                Part::Var { key_lower, default } => match ctx.lookup(key_lower) {
                    Lookup::Values(v) if v.len() == 1 => {
                        toks.extend(v[0].chars().map(Tok::Lit));
                    }
                    Lookup::Unknown => return Resolved::Unknown(key_lower.clone()),
                    _ => match default {
                        Some(d) => toks.extend(d.chars().map(Tok::Lit)),
                        None => return Resolved::Unresolved,
                    },
                },
            }
        }
        Resolved::Toks(toks)
    }

    /// The ARN pattern with every variable replaced by `*` (what the variable could match).
    pub fn widened_arn(&self) -> ArnPattern {
        let mut toks = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => toks.extend(crate::matcher::toks_of(t)),
                Part::Escape(c) => toks.push(Tok::Lit(*c)),
                Part::Var { .. } => toks.push(Tok::Star),
            }
        }
        ArnPattern::from_toks(toks)
    }

    /// Resolves to an ARN pattern (cached when there is no variable).
    pub fn resolve_arn(&self, ctx: &Context) -> Result<std::borrow::Cow<'_, ArnPattern>, Resolved> {
        if let Some(a) = &self.arn {
            return Ok(std::borrow::Cow::Borrowed(a));
        }
        match self.resolve(ctx) {
            Resolved::Toks(t) => Ok(std::borrow::Cow::Owned(ArnPattern::from_toks(t))),
            other => Err(other),
        }
    }
}

fn toks_to_plain(toks: &[Tok]) -> String {
    toks.iter()
        .map(|t| match t {
            Tok::Lit(c) => *c,
            Tok::One => '?',
            Tok::Star => '*',
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Context
// ---------------------------------------------------------------------------------------------

/// A fast hasher for the context's short, trusted keys (condition key names from policies and
/// from the scanner, never attacker-chosen in bulk): a multiply-rotate hash (the one rustc
/// uses internally), much cheaper than SipHash on every condition lookup.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct KeyHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl KeyHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            for (d, s) in w.iter_mut().zip(rest) {
                *d = *s;
            }
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// What is known about a context key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// The key is present with these values (one for single-valued keys).
    Values(&'a [String]),
    /// The key is known to be absent from the request.
    Absent,
    /// Nothing is known (scan-time analysis).
    Unknown,
}

/// The request context: condition keys (case-insensitive) with known values, known absence, or
/// unknown values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: HashMap<String, Entry, BuildHasherDefault<KeyHasher>>,
    unknown_by_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Values(Vec<String>),
    Absent,
    Unknown,
}

impl Context {
    /// A complete context: a key not set is absent.
    pub fn complete() -> Context {
        Context::default()
    }

    /// A partial context for scan-time questions: a key not set is unknown.
    pub fn partial() -> Context {
        Context {
            entries: HashMap::default(),
            unknown_by_default: true,
        }
    }

    /// Sets a single-valued key.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Context {
        self.entries
            .insert(key.to_ascii_lowercase(), Entry::Values(vec![value.into()]));
        self
    }

    /// Sets a key to several values (a multi-valued key such as `aws:TagKeys`).
    pub fn set_values(&mut self, key: &str, values: Vec<String>) -> &mut Context {
        self.entries
            .insert(key.to_ascii_lowercase(), Entry::Values(values));
        self
    }

    /// Marks a key as known to be absent.
    pub fn set_absent(&mut self, key: &str) -> &mut Context {
        self.entries.insert(key.to_ascii_lowercase(), Entry::Absent);
        self
    }

    /// Marks a key as unknown.
    pub fn set_unknown(&mut self, key: &str) -> &mut Context {
        self.entries
            .insert(key.to_ascii_lowercase(), Entry::Unknown);
        self
    }

    /// What is known about `key_lower` (an already lowercased key).
    pub fn lookup(&self, key_lower: &str) -> Lookup<'_> {
        match self.entries.get(key_lower) {
            Some(Entry::Values(v)) => Lookup::Values(v),
            Some(Entry::Absent) => Lookup::Absent,
            Some(Entry::Unknown) => Lookup::Unknown,
            None if self.unknown_by_default => Lookup::Unknown,
            None => Lookup::Absent,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Residual formulas and three-valued logic
// ---------------------------------------------------------------------------------------------

/// Where a statement comes from: the policy, its position and `Sid`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatementRef {
    /// The policy type (`identity`, `boundary`, `session`, `scp`, `rcp`, `resource`).
    pub policy_type: &'static str,
    /// The policy's name.
    pub policy: String,
    /// The statement's index in the policy.
    pub index: usize,
    /// The statement's `Sid`.
    pub sid: Option<String>,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} policy `{}` statement {}",
            self.policy_type, self.policy, self.index
        )?;
        if let Some(s) = &self.sid {
            write!(f, " (`{s}`)")?;
        }
        Ok(())
    }
}

/// A condition the evaluator could not decide because a value is unknown.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Atom {
    /// The operator as written (e.g. `StringEquals`); `ResourceVariable` for a `Resource`
    /// pattern whose policy variable is unknown.
    pub operator: String,
    /// The condition key (or the unknown variable's key).
    pub key: String,
    /// The policy values (or the resource pattern).
    pub values: Vec<String>,
    /// The statement it comes from.
    pub source: StatementRef,
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {:?}", self.operator, self.key, self.values)
    }
}

/// A boolean formula over undecided conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Formula {
    /// One undecided condition.
    Atom(Box<Atom>),
    /// Negation.
    Not(Box<Formula>),
    /// Conjunction.
    And(Vec<Formula>),
    /// Disjunction.
    Or(Vec<Formula>),
}

impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Formula::Atom(a) => write!(f, "{a}"),
            Formula::Not(x) => write!(f, "not ({x})"),
            Formula::And(xs) | Formula::Or(xs) => {
                let sep = if matches!(self, Formula::And(_)) {
                    " and "
                } else {
                    " or "
                };
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    write!(f, "({x})")?;
                }
                Ok(())
            }
        }
    }
}

/// A three-valued truth: true, false, or true exactly when a residual formula holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tri {
    /// Certainly true.
    True,
    /// Certainly false.
    False,
    /// True exactly when the formula holds.
    Unknown(Formula),
}

impl Tri {
    /// From a boolean.
    pub fn from_bool(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }

    /// Whether certainly true.
    pub fn is_true(&self) -> bool {
        matches!(self, Tri::True)
    }

    /// Whether certainly false.
    pub fn is_false(&self) -> bool {
        matches!(self, Tri::False)
    }

    /// Negation.
    #[inline]
    pub fn negate(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown(Formula::Not(f)) => Tri::Unknown(*f),
            Tri::Unknown(f) => Tri::Unknown(Formula::Not(Box::new(f))),
        }
    }

    /// Conjunction.
    #[inline]
    pub fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, x) | (x, Tri::True) => x,
            (Tri::Unknown(a), Tri::Unknown(b)) => Tri::Unknown(join(a, b, true)),
        }
    }

    /// Disjunction.
    #[inline]
    pub fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::False, x) | (x, Tri::False) => x,
            (Tri::Unknown(a), Tri::Unknown(b)) => Tri::Unknown(join(a, b, false)),
        }
    }
}

fn join(a: Formula, b: Formula, and: bool) -> Formula {
    let mut items = Vec::new();
    for f in [a, b] {
        match (f, and) {
            (Formula::And(xs), true) | (Formula::Or(xs), false) => items.extend(xs),
            (f, _) => {
                if !items.contains(&f) {
                    items.push(f)
                }
            }
        }
    }
    if items.len() == 1 {
        if let Some(f) = items.pop() {
            return f;
        }
    }
    if and {
        Formula::And(items)
    } else {
        Formula::Or(items)
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation of one condition entry
// ---------------------------------------------------------------------------------------------

/// Evaluates one `Operator: {Key: values}` entry against the context.
pub fn evaluate_condition(
    cond: &crate::policy::Condition,
    ctx: &Context,
    source: &dyn Fn() -> StatementRef,
) -> Tri {
    let op = cond.op;
    let unknown = || {
        Tri::Unknown(Formula::Atom(Box::new(Atom {
            operator: cond.op_text.clone(),
            key: cond.key.clone(),
            values: cond.values.iter().map(|v| v.text().to_string()).collect(),
            source: source(),
        })))
    };
    let lookup = ctx.lookup(&cond.key_lower);
    if op.base == BaseOp::Null {
        let present = match lookup {
            Lookup::Values(v) => !v.is_empty(),
            Lookup::Absent => false,
            Lookup::Unknown => return unknown(),
        };
        // Several values are ORed: `["true","false"]` is always true.
        let r = cond.values.iter().any(|v| {
            let want_absent = v.text().eq_ignore_ascii_case("true");
            want_absent != present
        });
        return Tri::from_bool(r);
    }
    let values: &[String] = match lookup {
        Lookup::Unknown => return unknown(),
        Lookup::Absent => &[],
        Lookup::Values(v) => v,
    };
    // Policy values may hold variables; an unknown variable makes the entry undecided. Values
    // without variables are compared as written, with no per-request allocation.
    let takes_variables = op.base.takes_variables();
    let resolved: Option<Vec<Option<Vec<Tok>>>> =
        if takes_variables && cond.values.iter().any(Template::has_variables) {
            let mut resolved = Vec::with_capacity(cond.values.len());
            for v in &cond.values {
                if v.has_variables() {
                    match v.resolve(ctx) {
                        Resolved::Toks(t) => resolved.push(Some(t)),
                        Resolved::Unresolved => resolved.push(None),
                        Resolved::Unknown(_) => return unknown(),
                    }
                } else {
                    resolved.push(Some(crate::matcher::toks_of(v.text()).collect()));
                }
            }
            Some(resolved)
        } else {
            None
        };
    let negated = op.base.is_negated();
    let positive = op.base.positive();
    // Per request value: does it satisfy the operator against the policy values?
    let value_ok = |rv: &str| -> bool {
        let any = match &resolved {
            Some(resolved) => resolved.iter().any(|pv| match pv {
                Some(t) => compare(positive, rv, t),
                None => false,
            }),
            None => cond.values.iter().any(|pv| compare_text(positive, rv, pv)),
        };
        any != negated
    };
    let r = match op.set {
        SetOp::Single => {
            if values.is_empty() {
                op.if_exists || negated
            } else if negated {
                values.iter().all(|v| value_ok(v))
            } else {
                values.iter().any(|v| value_ok(v))
            }
        }
        SetOp::ForAnyValue => {
            if values.is_empty() {
                op.if_exists
            } else {
                values.iter().any(|v| value_ok(v))
            }
        }
        SetOp::ForAllValues => values.iter().all(|v| value_ok(v)),
    };
    Tri::from_bool(r)
}

fn compare(op: BaseOp, request: &str, policy: &[Tok]) -> bool {
    match op {
        BaseOp::StringEquals => toks_eq(policy, request, false),
        BaseOp::StringEqualsIgnoreCase => toks_eq(policy, request, true),
        BaseOp::StringLike => Glob::from_toks(policy.to_vec()).matches(request, false),
        BaseOp::ArnEquals | BaseOp::ArnLike => {
            if crate::matcher::Arn::parse(request).is_none() {
                return false;
            }
            ArnPattern::from_toks(policy.to_vec()).matches(request, false)
        }
        BaseOp::NumericEquals
        | BaseOp::NumericLessThan
        | BaseOp::NumericLessThanEquals
        | BaseOp::NumericGreaterThan
        | BaseOp::NumericGreaterThanEquals => {
            let (Ok(r), Ok(p)) = (
                request.trim().parse::<f64>(),
                toks_to_plain(policy).trim().parse::<f64>(),
            ) else {
                return false;
            };
            ordered(op, r.partial_cmp(&p))
        }
        BaseOp::DateEquals
        | BaseOp::DateLessThan
        | BaseOp::DateLessThanEquals
        | BaseOp::DateGreaterThan
        | BaseOp::DateGreaterThanEquals => {
            let (Some(r), Some(p)) = (parse_date(request), parse_date(&toks_to_plain(policy)))
            else {
                return false;
            };
            ordered(op, Some(r.cmp(&p)))
        }
        BaseOp::Bool => toks_to_plain(policy).eq_ignore_ascii_case(request.trim()),
        BaseOp::BinaryEquals => toks_to_plain(policy) == request,
        BaseOp::IpAddress => ip_in(request, &toks_to_plain(policy)),
        _ => false,
    }
}

/// [`compare`] for a policy value without variables: the value is its text as written, so
/// nothing is compiled or allocated per request (same answers as `compare` on the text's
/// tokens).
fn compare_text(op: BaseOp, request: &str, value: &Template) -> bool {
    let text = value.text();
    match op {
        BaseOp::StringEquals => text == request,
        BaseOp::StringEqualsIgnoreCase => text_eq_fold(text, request),
        BaseOp::StringLike => crate::matcher::glob_match_str(text, request, false),
        BaseOp::ArnEquals | BaseOp::ArnLike => {
            if crate::matcher::Arn::parse(request).is_none() {
                return false;
            }
            match value.static_arn() {
                Some(p) => p.matches(request, false),
                None => ArnPattern::new(text).matches(request, false),
            }
        }
        BaseOp::NumericEquals
        | BaseOp::NumericLessThan
        | BaseOp::NumericLessThanEquals
        | BaseOp::NumericGreaterThan
        | BaseOp::NumericGreaterThanEquals => {
            let (Ok(r), Ok(p)) = (request.trim().parse::<f64>(), text.trim().parse::<f64>()) else {
                return false;
            };
            ordered(op, r.partial_cmp(&p))
        }
        BaseOp::DateEquals
        | BaseOp::DateLessThan
        | BaseOp::DateLessThanEquals
        | BaseOp::DateGreaterThan
        | BaseOp::DateGreaterThanEquals => {
            let (Some(r), Some(p)) = (parse_date(request), parse_date(text)) else {
                return false;
            };
            ordered(op, Some(r.cmp(&p)))
        }
        BaseOp::Bool => text.eq_ignore_ascii_case(request.trim()),
        BaseOp::BinaryEquals => text == request,
        BaseOp::IpAddress => ip_in(request, text),
        _ => false,
    }
}

/// Character-wise equality where each pair may differ in case (as `toks_eq` with `fold`).
fn text_eq_fold(policy: &str, request: &str) -> bool {
    if policy.is_ascii() && request.is_ascii() {
        return policy.eq_ignore_ascii_case(request);
    }
    let mut it = request.chars();
    for c in policy.chars() {
        match it.next() {
            Some(r) if r == c || r.to_lowercase().eq(c.to_lowercase()) => {}
            _ => return false,
        }
    }
    it.next().is_none()
}

fn ordered(op: BaseOp, ord: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    let Some(o) = ord else { return false };
    match op {
        BaseOp::NumericEquals | BaseOp::DateEquals => o == Equal,
        BaseOp::NumericLessThan | BaseOp::DateLessThan => o == Less,
        BaseOp::NumericLessThanEquals | BaseOp::DateLessThanEquals => o != Greater,
        BaseOp::NumericGreaterThan | BaseOp::DateGreaterThan => o == Greater,
        BaseOp::NumericGreaterThanEquals | BaseOp::DateGreaterThanEquals => o != Less,
        _ => false,
    }
}

fn toks_eq(policy: &[Tok], request: &str, fold: bool) -> bool {
    let mut it = request.chars();
    for t in policy {
        let c = match t {
            Tok::Lit(c) => *c,
            Tok::One => '?',
            Tok::Star => '*',
        };
        match it.next() {
            Some(r) if r == c || (fold && r.to_lowercase().eq(c.to_lowercase())) => {}
            _ => return false,
        }
    }
    it.next().is_none()
}

/// Whether `ip` lies in `cidr` (`10.0.0.0/8`, `2001:db8::/32` or a single address).
pub fn ip_in(ip: &str, cidr: &str) -> bool {
    let Ok(addr) = ip.trim().parse::<IpAddr>() else {
        return false;
    };
    let (net, len) = match cidr.trim().split_once('/') {
        Some((n, l)) => match l.parse::<u32>() {
            Ok(l) => (n, Some(l)),
            Err(_) => return false,
        },
        None => (cidr.trim(), None),
    };
    let Ok(net) = net.parse::<IpAddr>() else {
        return false;
    };
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let len = len.unwrap_or(32);
            if len > 32 {
                return false;
            }
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            (u32::from(a) & mask) == (u32::from(n) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let len = len.unwrap_or(128);
            if len > 128 {
                return false;
            }
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            (u128::from(a) & mask) == (u128::from(n) & mask)
        }
        _ => false,
    }
}

/// Parses an ISO 8601 date/time (`2020-01-01`, `2020-01-01T12:00:00Z`, with fraction or offset)
/// or epoch seconds, to milliseconds since the epoch.
pub fn parse_date(text: &str) -> Option<i64> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<i64>().ok()?.checked_mul(1000);
    }
    let b = t.as_bytes();
    let num = |s: usize, e: usize| -> Option<i64> {
        let part = t.get(s..e)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let year = num(0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let month = num(5, 7)?;
    let day = num(8, 10)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * 86_400_000;
    if b.len() == 10 {
        return Some(ms);
    }
    if !matches!(b.get(10), Some(b'T') | Some(b't') | Some(b' ')) {
        return None;
    }
    let h = num(11, 13)?;
    if b.get(13) != Some(&b':') {
        return None;
    }
    let mi = num(14, 16)?;
    let mut i = 16;
    let mut s = 0;
    if b.get(i) == Some(&b':') {
        s = num(17, 19)?;
        i = 19;
    }
    let mut frac_ms = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        let mut end = start;
        while b.get(end).is_some_and(|c| c.is_ascii_digit()) {
            end += 1;
        }
        let digits = t.get(start..end)?;
        if digits.is_empty() {
            return None;
        }
        let mut padded: String = digits.chars().take(3).collect();
        while padded.len() < 3 {
            padded.push('0');
        }
        frac_ms = padded.parse::<i64>().ok()?;
        i = end;
    }
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    ms += ((h * 60 + mi) * 60 + s) * 1000 + frac_ms;
    match b.get(i) {
        None => Some(ms),
        Some(b'Z') | Some(b'z') if b.len() == i + 1 => Some(ms),
        Some(&sign) if sign == b'+' || sign == b'-' => {
            let oh = num(i + 1, i + 3)?;
            let om = match b.get(i + 3) {
                Some(b':') => num(i + 4, i + 6)?,
                None => 0,
                Some(_) => num(i + 3, i + 5)?,
            };
            let off = (oh * 60 + om) * 60_000;
            Some(if sign == b'+' { ms - off } else { ms + off })
        }
        _ => None,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_parse() {
        let op = ConditionOp::parse("ForAllValues:StringLikeIfExists");
        assert_eq!(
            op,
            Some(ConditionOp {
                base: BaseOp::StringLike,
                set: SetOp::ForAllValues,
                if_exists: true
            })
        );
        assert_eq!(ConditionOp::parse("NullIfExists"), None);
        assert_eq!(ConditionOp::parse("stringequals"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_date("86400"), Some(86_400_000));
        assert_eq!(
            parse_date("2020-01-01T01:00:00+01:00"),
            parse_date("2020-01-01T00:00:00Z")
        );
        assert_eq!(
            parse_date("2020-01-01T00:00:00.5Z"),
            parse_date("2020-01-01T00:00:00Z").map(|x| x + 500)
        );
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn ips() {
        assert!(ip_in("203.0.113.5", "203.0.113.0/24"));
        assert!(!ip_in("203.0.114.5", "203.0.113.0/24"));
        assert!(ip_in("2001:db8::1", "2001:db8::/32"));
        assert!(!ip_in("2001:db8::1", "10.0.0.0/8"));
        assert!(ip_in("10.1.2.3", "0.0.0.0/0"));
        assert!(ip_in("10.1.2.3", "10.1.2.3"));
    }

    #[test]
    fn templates() {
        let mut ctx = Context::complete();
        ctx.set("aws:username", "alice");
        let t = Template::parse("home/${aws:username}/${*}x").ok();
        let r = t.map(|t| t.resolve(&ctx));
        assert_eq!(
            r.map(|r| matches!(r, Resolved::Toks(t) if toks_to_plain(&t) == "home/alice/*x")),
            Some(true)
        );
        let t = Template::parse("${aws:userid, 'none'}").ok();
        let r = t.map(|t| t.resolve(&ctx));
        assert_eq!(
            r.map(|r| matches!(r, Resolved::Toks(t) if toks_to_plain(&t) == "none")),
            Some(true)
        );
        let t = Template::parse("${aws:userid}").ok();
        assert_eq!(t.map(|t| t.resolve(&ctx)), Some(Resolved::Unresolved));
        let t = Template::parse("${aws:userid}").ok();
        assert_eq!(
            t.map(|t| t.resolve(&Context::partial())),
            Some(Resolved::Unknown("aws:userid".into()))
        );
    }
}
