//! Wildcard matching for IAM: action globs, ARN patterns, and the overlap and containment tests
//! the evaluator needs to answer "any resource" and "all resources" questions.
//!
//! A pattern is a sequence of [`Tok`]ens: a literal character, `?` (exactly one character) or
//! `*` (any run of characters, including none). Patterns are compiled once; policy variables are
//! resolved before compiling (see [`crate::condition`]), so an escaped `${*}` becomes a literal
//! `*` that no wildcard logic sees.

/// One token of a compiled wildcard pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    /// A literal character.
    Lit(char),
    /// `?`: exactly one character.
    One,
    /// `*`: any run of characters.
    Star,
}

/// The tokens of a pattern text: `*` and `?` are wildcards, every other character is literal.
pub(crate) fn toks_of(pattern: &str) -> impl Iterator<Item = Tok> + '_ {
    pattern.chars().map(|c| match c {
        '*' => Tok::Star,
        '?' => Tok::One,
        c => Tok::Lit(c),
    })
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Glob {
    toks: Vec<Tok>,
}

/// Glob matching of tokens on ASCII text (one byte is one character): two pointers with one
/// backtrack point, no decoding and no allocation. A non-ASCII literal can still equal an ASCII
/// byte when folding case (the Kelvin sign folds to `k`), so literals go through [`char_eq`].
fn glob_toks_ascii(toks: &[Tok], text: &[u8], fold: bool) -> bool {
    let mut p = 0usize;
    let mut t = 0usize;
    let mut back: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(t) {
        match toks.get(p) {
            Some(Tok::Star) => {
                p += 1;
                back = Some((p, t));
                continue;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
                continue;
            }
            Some(Tok::Lit(l)) if char_eq(*l, char::from(c), fold) => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        match back {
            Some((sp, st)) => {
                p = sp;
                t = st + 1;
                back = Some((sp, t));
            }
            None => return false,
        }
    }
    toks.get(p..)
        .is_some_and(|rest| rest.iter().all(|x| *x == Tok::Star))
}

/// Glob matching of an ASCII pattern text on ASCII text: `star` and `one` are the wildcard
/// bytes; every other byte is literal, compared ignoring ASCII case when `fold`.
fn glob_bytes(pat: &[u8], text: &[u8], fold: bool, star: u8, one: u8) -> bool {
    let mut p = 0usize;
    let mut t = 0usize;
    let mut back: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(t) {
        if let Some(&x) = pat.get(p) {
            if x == star {
                p += 1;
                back = Some((p, t));
                continue;
            }
            if x == one || x == c || (fold && x.eq_ignore_ascii_case(&c)) {
                p += 1;
                t += 1;
                continue;
            }
        }
        match back {
            Some((sp, st)) => {
                p = sp;
                t = st + 1;
                back = Some((sp, t));
            }
            None => return false,
        }
    }
    pat.get(p..)
        .is_some_and(|rest| rest.iter().all(|&x| x == star))
}

/// Whether `text` matches `pattern` (`*` and `?` are wildcards, every other character is
/// literal), as [`Glob::new`]`(pattern).matches(text, fold)` but without compiling the pattern
/// when both are ASCII.
pub fn glob_match_str(pattern: &str, text: &str, fold: bool) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        return glob_bytes(pattern.as_bytes(), text.as_bytes(), fold, b'*', b'?');
    }
    Glob::new(pattern).matches(text, fold)
}

impl Glob {
    /// Compiles `pattern`: `*` and `?` are wildcards, every other character is literal.
    pub fn new(pattern: &str) -> Glob {
        Glob::from_toks(toks_of(pattern).collect())
    }

    /// A pattern whose every character is literal (no wildcard).
    pub fn literal(text: &str) -> Glob {
        Glob::from_toks(text.chars().map(Tok::Lit).collect())
    }

    /// Builds a pattern from tokens.
    pub fn from_toks(toks: Vec<Tok>) -> Glob {
        Glob { toks }
    }

    /// The tokens of the pattern.
    pub fn toks(&self) -> &[Tok] {
        &self.toks
    }

    /// Whether the pattern is `*` alone (or a run of `*`), which matches every string.
    pub fn is_match_all(&self) -> bool {
        !self.toks.is_empty() && self.toks.iter().all(|t| *t == Tok::Star)
    }

    /// Whether `text` matches the pattern; `fold` compares letters ignoring case.
    pub fn matches(&self, text: &str, fold: bool) -> bool {
        if text.is_ascii() {
            glob_toks_ascii(&self.toks, text.as_bytes(), fold)
        } else {
            glob_match(&self.toks, text, fold)
        }
    }

    /// Whether every string this pattern matches is also matched by `outer` (a sound test: it
    /// may answer `false` for some exotic pairs where containment holds).
    pub fn is_within(&self, outer: &Glob, fold: bool) -> bool {
        contains(outer.toks.as_slice(), self.toks.as_slice(), fold)
    }

    /// Whether some string is matched by both patterns (exact).
    pub fn overlaps(&self, other: &Glob, fold: bool) -> bool {
        overlap(self.toks.as_slice(), other.toks.as_slice(), fold)
    }
}

fn char_eq(a: char, b: char, fold: bool) -> bool {
    if a == b {
        return true;
    }
    if !fold {
        return false;
    }
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(&b);
    }
    a.to_lowercase().eq(b.to_lowercase())
}

/// Classic two-pointer glob matching with one backtrack point; linear in practice.
fn glob_match(toks: &[Tok], text: &str, fold: bool) -> bool {
    let bytes = text;
    let mut p = 0usize; // index into toks
    let mut t = 0usize; // byte index into text
    let mut star: Option<(usize, usize)> = None; // (token after star, text position)
    while t < bytes.len() {
        let c = match bytes[t..].chars().next() {
            Some(c) => c,
            None => break,
        };
        match toks.get(p) {
            Some(Tok::Star) => {
                p += 1;
                star = Some((p, t));
                continue;
            }
            Some(Tok::One) => {
                p += 1;
                t += c.len_utf8();
                continue;
            }
            Some(Tok::Lit(l)) if char_eq(*l, c, fold) => {
                p += 1;
                t += c.len_utf8();
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, st)) => {
                let skipped = match bytes[st..].chars().next() {
                    Some(c) => c.len_utf8(),
                    None => return false,
                };
                p = sp;
                t = st + skipped;
                star = Some((sp, t));
            }
            None => return false,
        }
    }
    toks[p.min(toks.len())..].iter().all(|t| *t == Tok::Star)
}

/// A token sequence read by position: a pattern's tokens, or an ARN pattern's segments joined
/// by `:` without building the joined sequence.
trait TokSeq {
    fn len(&self) -> usize;
    fn at(&self, i: usize) -> Option<Tok>;
}

impl TokSeq for [Tok] {
    fn len(&self) -> usize {
        <[Tok]>::len(self)
    }
    fn at(&self, i: usize) -> Option<Tok> {
        self.get(i).copied()
    }
}

/// A token slice as a sized [`TokSeq`].
struct Flat<'a>(&'a [Tok]);

impl TokSeq for Flat<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn at(&self, i: usize) -> Option<Tok> {
        self.0.get(i).copied()
    }
}

/// The segments of an [`ArnPattern::Segments`] read as one sequence with `:` between them.
struct Joined<'a> {
    segs: &'a [Glob],
    /// Start of each segment in the joined sequence.
    starts: [usize; 6],
    len: usize,
}

impl<'a> Joined<'a> {
    fn new(segs: &'a [Glob]) -> Joined<'a> {
        let mut starts = [0usize; 6];
        let mut pos = 0usize;
        for (i, (slot, g)) in starts.iter_mut().zip(segs).enumerate() {
            if i > 0 {
                pos += 1;
            }
            *slot = pos;
            pos += g.toks.len();
        }
        Joined {
            segs,
            starts,
            len: pos,
        }
    }
}

impl TokSeq for Joined<'_> {
    fn len(&self) -> usize {
        self.len
    }
    fn at(&self, i: usize) -> Option<Tok> {
        // The last segment starting at or before `i`.
        let n = self.segs.len().min(6);
        let mut k = 0;
        while k + 1 < n && self.starts.get(k + 1).is_some_and(|&s| s <= i) {
            k += 1;
        }
        let start = self.starts.get(k).copied()?;
        let seg = self.segs.get(k)?;
        match seg.toks.get(i - start) {
            Some(t) => Some(*t),
            // One past a segment's end is the `:` before the next segment.
            None if i - start == seg.toks.len() && k + 1 < n => Some(Tok::Lit(':')),
            None => None,
        }
    }
}

/// Whether `inner` ⊆ `outer`: `outer` must match the token string of `inner` where inner's `*`
/// can only be covered by outer's `*`, and inner's `?` by outer's `?` or `*`.
fn contains<O: TokSeq + ?Sized, I: TokSeq + ?Sized>(outer: &O, inner: &I, fold: bool) -> bool {
    let n = outer.len();
    let m = inner.len();
    // prev[j] = outer[..i] can cover inner[..j]
    let mut prev = vec![false; m + 1];
    let mut cur = vec![false; m + 1];
    if let Some(p) = prev.first_mut() {
        *p = true;
    }
    for i in 1..=n {
        let Some(o) = outer.at(i - 1) else {
            return false;
        };
        cur.iter_mut().for_each(|c| *c = false);
        if o == Tok::Star {
            if let (Some(c), Some(&p)) = (cur.first_mut(), prev.first()) {
                *c = p;
            }
        }
        for j in 1..=m {
            let (Some(x), Some(&p_j), Some(&p_j1), Some(&c_j1)) = (
                inner.at(j - 1),
                prev.get(j),
                prev.get(j - 1),
                cur.get(j - 1),
            ) else {
                return false;
            };
            let v = match o {
                Tok::Star => p_j || c_j1,
                Tok::One => p_j1 && x != Tok::Star,
                Tok::Lit(a) => p_j1 && matches!(x, Tok::Lit(b) if char_eq(a, b, fold)),
            };
            if let Some(c) = cur.get_mut(j) {
                *c = v;
            }
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.get(m).copied().unwrap_or(false)
}

/// Whether two patterns share at least one matching string.
fn overlap<A: TokSeq + ?Sized, B: TokSeq + ?Sized>(a: &A, b: &B, fold: bool) -> bool {
    let n = a.len();
    let m = b.len();
    // seen[i * (m + 1) + j]: state (i, j) visited
    let mut seen = vec![false; (n + 1) * (m + 1)];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        match seen.get_mut(i * (m + 1) + j) {
            Some(s) if !*s => *s = true,
            _ => continue,
        }
        if i == n && j == m {
            return true;
        }
        let ta = a.at(i);
        let tb = b.at(j);
        if ta == Some(Tok::Star) {
            stack.push((i + 1, j));
            if j < m {
                stack.push((i, j + 1));
            }
        }
        if tb == Some(Tok::Star) {
            stack.push((i, j + 1));
            if i < n {
                stack.push((i + 1, j));
            }
        }
        if let (Some(x), Some(y)) = (ta, tb) {
            let ok = match (x, y) {
                (Tok::Star, _) | (_, Tok::Star) => false,
                (Tok::One, _) | (_, Tok::One) => true,
                (Tok::Lit(p), Tok::Lit(q)) => char_eq(p, q, fold),
            };
            if ok {
                stack.push((i + 1, j + 1));
            }
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------------------------

/// A compiled `Action`/`NotAction` entry: `*`, or a service prefix and a name glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionPattern {
    /// `"*"`: every action.
    All,
    /// `prefix:name-glob`; the prefix is stored lowercased and compared exactly.
    Service {
        /// Lowercased service prefix.
        prefix: String,
        /// The action-name glob (matched ignoring case).
        name: Glob,
        /// The text as written in the policy.
        text: String,
    },
}

impl ActionPattern {
    /// Parses an action pattern; `None` when it is neither `*` nor `prefix:name`.
    pub fn parse(text: &str) -> Option<ActionPattern> {
        if text == "*" {
            return Some(ActionPattern::All);
        }
        let (prefix, name) = text.split_once(':')?;
        if prefix.is_empty() || name.is_empty() {
            return None;
        }
        Some(ActionPattern::Service {
            prefix: prefix.to_ascii_lowercase(),
            name: Glob::new(name),
            text: text.to_string(),
        })
    }

    /// Whether the request action (already split into lowercased prefix and name) matches.
    pub fn matches(&self, prefix_lower: &str, name: &str) -> bool {
        match self {
            ActionPattern::All => true,
            ActionPattern::Service {
                prefix: p, name: n, ..
            } => p == prefix_lower && n.matches(name, true),
        }
    }
}

/// Whether `action` (`prefix:Name`) matches `pattern` (`*` or `prefix:glob`), ignoring case.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let Some(p) = ActionPattern::parse(pattern) else {
        return false;
    };
    match action.split_once(':') {
        Some((prefix, name)) => p.matches(&prefix.to_ascii_lowercase(), name),
        None => false,
    }
}

// ---------------------------------------------------------------------------------------------
// ARNs
// ---------------------------------------------------------------------------------------------

/// An ARN split into its six parts (`arn:partition:service:region:account:resource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, ...
    pub partition: &'a str,
    /// Service namespace.
    pub service: &'a str,
    /// Region, may be empty.
    pub region: &'a str,
    /// Account id, may be empty.
    pub account: &'a str,
    /// Everything after the fifth colon.
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits an ARN; `None` unless it starts with `arn:` and has six parts.
    pub fn parse(text: &'a str) -> Option<Arn<'a>> {
        if !text.starts_with("arn:") {
            return None;
        }
        let (parts, n) = split_arn(text);
        if n < 6 {
            return None;
        }
        let [_, partition, service, region, account, resource] = parts;
        Some(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }
}

/// A request ARN split once on its first five colons, to match against many patterns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArnParts<'a> {
    text: &'a str,
    parts: [&'a str; 6],
    n: usize,
}

impl<'a> ArnParts<'a> {
    pub(crate) fn new(text: &'a str) -> ArnParts<'a> {
        let (parts, n) = split_arn(text);
        ArnParts { text, parts, n }
    }
}

/// Splits text on its first five colons without allocating: the parts and how many there are.
fn split_arn(arn: &str) -> ([&str; 6], usize) {
    let mut parts = [""; 6];
    let mut n = 0;
    let mut start = 0;
    for (i, b) in arn.bytes().enumerate() {
        if b == b':' {
            if let (Some(slot), Some(part)) = (parts.get_mut(n), arn.get(start..i)) {
                *slot = part;
            }
            n += 1;
            start = i + 1;
            if n == 5 {
                break;
            }
        }
    }
    if let (Some(slot), Some(part)) = (parts.get_mut(n), arn.get(start..)) {
        *slot = part;
    }
    (parts, n + 1)
}

/// A compiled ARN pattern (the `Resource` element or an `Arn*` condition value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArnPattern {
    /// `*` alone: every resource.
    All,
    /// Segment-wise pattern. `segments` holds 1 to 6 globs (the first is the literal `arn`);
    /// when fewer than six, the last one covers the rest of the ARN (it must end with `*` to
    /// match anything longer).
    Segments(Vec<Glob>),
    /// Not an ARN and not `*`: compared as a whole-string glob.
    Other(Glob),
}

impl ArnPattern {
    /// Compiles a pattern from tokens (after variable resolution).
    pub fn from_toks(toks: Vec<Tok>) -> ArnPattern {
        if !toks.is_empty() && toks.iter().all(|t| *t == Tok::Star) {
            return ArnPattern::All;
        }
        let mut segments: Vec<Glob> = Vec::new();
        let mut cur = Vec::new();
        for t in toks {
            if t == Tok::Lit(':') && segments.len() < 5 {
                segments.push(Glob::from_toks(std::mem::take(&mut cur)));
            } else {
                cur.push(t);
            }
        }
        segments.push(Glob::from_toks(cur));
        let is_arn = segments
            .first()
            .map(|g| g.toks().iter().copied().eq("arn".chars().map(Tok::Lit)))
            .unwrap_or(false);
        if !is_arn || segments.len() < 2 {
            let mut all = Vec::new();
            for (i, s) in segments.into_iter().enumerate() {
                if i > 0 {
                    all.push(Tok::Lit(':'));
                }
                all.extend_from_slice(s.toks());
            }
            return ArnPattern::Other(Glob::from_toks(all));
        }
        ArnPattern::Segments(segments)
    }

    /// Compiles a pattern string (`*` and `?` are wildcards).
    pub fn new(pattern: &str) -> ArnPattern {
        if !pattern.is_empty() && pattern.bytes().all(|b| b == b'*') {
            return ArnPattern::All;
        }
        ArnPattern::from_toks(toks_of(pattern).collect())
    }

    /// Whether the pattern matches every resource.
    pub fn is_all(&self) -> bool {
        matches!(self, ArnPattern::All)
    }

    /// Whether `arn` matches. The partition, service, region and account are compared ignoring
    /// case; the resource part is case-sensitive unless `fold_resource`.
    pub fn matches(&self, arn: &str, fold_resource: bool) -> bool {
        match self {
            ArnPattern::All => true,
            _ => self.matches_parts(&ArnParts::new(arn), fold_resource),
        }
    }

    /// [`ArnPattern::matches`] on an ARN split once for many patterns.
    pub(crate) fn matches_parts(&self, split: &ArnParts<'_>, fold_resource: bool) -> bool {
        let arn = split.text;
        match self {
            ArnPattern::All => true,
            ArnPattern::Other(g) => g.matches(arn, fold_resource),
            ArnPattern::Segments(segs) => {
                let (parts, n) = (split.parts, split.n);
                if n < segs.len() {
                    return false;
                }
                let last = segs.len() - 1;
                let mut start = 0usize;
                for (i, seg) in segs.iter().enumerate() {
                    let fold = i < 5 || fold_resource;
                    let part = parts.get(i).copied().unwrap_or("");
                    if i == last && last < 5 {
                        // The final segment of a short pattern covers the rest of the ARN: a
                        // trailing `*` can run past the colons.
                        let rest = arn.get(start..).unwrap_or("");
                        if !seg.matches(rest, fold) {
                            return false;
                        }
                    } else if !seg.matches(part, fold) {
                        return false;
                    }
                    start += part.len() + 1;
                }
                n == 6 || last < 5
            }
        }
    }

    /// Whether the partition, service, region and account segments match `arn` (the resource
    /// part is ignored).
    pub fn prefix_matches(&self, arn: &str) -> bool {
        match self {
            ArnPattern::Segments(segs) if segs.len() == 6 => {
                let (parts, n) = split_arn(arn);
                n == 6
                    && segs
                        .iter()
                        .take(5)
                        .zip(&parts)
                        .all(|(g, p)| g.matches(p, true))
            }
            other => other.matches(arn, false),
        }
    }

    /// Calls `f` with the pattern as one token sequence (segments joined by `:`), without
    /// building it.
    fn with_whole<R>(&self, f: impl FnOnce(&dyn TokSeq) -> R) -> R {
        match self {
            ArnPattern::All => f(&Flat(&[Tok::Star])),
            ArnPattern::Other(g) => f(&Flat(&g.toks)),
            ArnPattern::Segments(segs) => f(&Joined::new(segs)),
        }
    }

    /// Whether every ARN matched by `self` is matched by `outer` (sound, may say `false` for
    /// exotic pairs). Compares the whole text; letters are compared ignoring case only in the
    /// first five segments, which whole-text comparison approximates by case-sensitive matching.
    pub fn is_within(&self, outer: &ArnPattern) -> bool {
        if outer.is_all() {
            return true;
        }
        if self.is_all() {
            return false;
        }
        self.with_whole(|inner| outer.with_whole(|outer| contains(outer, inner, false)))
    }

    /// Whether some ARN is matched by both patterns (case-insensitive comparison, so it can
    /// only over-report, never miss an overlap).
    pub fn overlaps(&self, other: &ArnPattern) -> bool {
        if self.is_all() || other.is_all() {
            return true;
        }
        self.with_whole(|a| other.with_whole(|b| overlap(a, b, true)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_basics() {
        let g = Glob::new("Get*");
        assert!(g.matches("getobject", true));
        assert!(!g.matches("getobject", false));
        assert!(Glob::new("GetObjec?").matches("GetObject", false));
        assert!(!Glob::new("GetObjec?").matches("GetObjec", false));
        assert!(Glob::new("*a*b*").matches("xxaxxbxx", false));
        assert!(Glob::new("").matches("", false));
        assert!(!Glob::new("").matches("a", false));
        assert!(Glob::new("é?").matches("éü", false));
    }

    #[test]
    fn actions() {
        assert!(action_matches("S3:getOBJECT", "s3:GetObject"));
        assert!(action_matches("iam:*AccessKey*", "iam:ListAccessKeys"));
        assert!(action_matches("*", "ec2:RunInstances"));
        assert!(!action_matches("s*:GetObject", "s3:GetObject"));
        assert!(!action_matches("s3", "s3:GetObject"));
    }

    #[test]
    fn arns() {
        let p = ArnPattern::new("arn:aws:s3:::b*");
        assert!(p.matches("arn:aws:s3:::bucket/x", false));
        assert!(!ArnPattern::new("arn:aws:s3:::Bucket/*").matches("arn:aws:s3:::bucket/x", false));
        assert!(ArnPattern::new("arn:AWS:S3:::bucket/*").matches("arn:aws:s3:::bucket/x", false));
        assert!(ArnPattern::new("arn:aws:iam::*:role/eks-*")
            .matches("arn:aws:iam::123456789012:role/eks-node", false));
        assert!(ArnPattern::new("arn:aws:ec2:*")
            .matches("arn:aws:ec2:eu-west-1:123456789012:instance/i-1", false));
        assert!(!ArnPattern::new("arn:aws:ec2:*:*:volume/*")
            .matches("arn:aws:ec2:eu-west-1:123456789012:instance/i-1", false));
        assert!(
            ArnPattern::new("arn:aws:secretsmanager:*:*:secret:db-*").matches(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
                false
            )
        );
    }

    #[test]
    fn containment_and_overlap() {
        let all = ArnPattern::new("*");
        let b = ArnPattern::new("arn:aws:s3:::b/*");
        let bx = ArnPattern::new("arn:aws:s3:::b/x*");
        assert!(bx.is_within(&b));
        assert!(!b.is_within(&bx));
        assert!(b.is_within(&all));
        assert!(b.overlaps(&bx));
        assert!(!b.overlaps(&ArnPattern::new("arn:aws:s3:::c/*")));
        assert!(!Glob::new("a*c").is_within(&Glob::new("a?c"), false));
    }
}
