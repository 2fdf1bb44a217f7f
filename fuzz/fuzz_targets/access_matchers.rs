//! The ARN and action matchers, globs, condition operators, policy variables, IP and date parsing
//! (`providers/access/src/{matcher,condition}.rs`). The input is split on NUL into a pattern and
//! the text it is matched against.
#![no_main]
use cloudscan_access::condition::{ip_in, parse_date, ConditionOp, Context, Template};
use cloudscan_access::matcher::{action_matches, ActionPattern, Arn, ArnPattern, Glob};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (pattern, value) = text.split_once('\0').unwrap_or((&text, ""));
    let glob = Glob::new(pattern);
    let _ = glob.matches(value, true);
    let _ = glob.matches(value, false);
    let other = Glob::new(value);
    let _ = glob.is_within(&other, true);
    let _ = glob.overlaps(&other, false);
    if let Some(action) = ActionPattern::parse(pattern) {
        let (prefix, name) = value.split_once(':').unwrap_or((value, ""));
        let _ = action.matches(&prefix.to_ascii_lowercase(), name);
    }
    let _ = action_matches(pattern, value);
    let _ = Arn::parse(value);
    let arn = ArnPattern::new(pattern);
    let _ = arn.matches(value, true);
    let _ = arn.prefix_matches(value);
    let other_arn = ArnPattern::new(value);
    let _ = arn.is_within(&other_arn);
    let _ = arn.overlaps(&other_arn);
    let _ = ConditionOp::parse(pattern);
    let _ = ip_in(value, pattern);
    let _ = parse_date(value);
    if let Ok(template) = Template::parse(pattern) {
        let mut ctx = Context::partial();
        ctx.set("aws:username", value);
        ctx.set_values("aws:PrincipalTag/team", vec![value.to_string()]);
        let _ = template.resolve(&ctx);
        let _ = template.resolve_arn(&ctx);
        let _ = template.widened_arn();
    }
});
