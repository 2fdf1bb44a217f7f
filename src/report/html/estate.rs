//! The estate section of the HTML report: when a report covers more than one scope, a static
//! summary table (one row per scope that has findings or was not read completely, worst first)
//! whose rows link to a `<details>` block per scope listing its open findings. It is plain
//! markup written here (every value escaped), so it needs no script and reads the same with
//! scripting off; the page script and its CSP hash are unchanged.

use super::super::model::{
    gap_groups, FindingEntry, GapGroup, ReportDocument, ScopeCoverage, ScopeSummary,
};
use super::super::resource::short;
use super::escape_html;
use crate::finding::Severity;
use std::fmt::Write;

/// At most this many findings are listed per scope; the rest are counted, and the findings
/// table of the page (which pages and filters) has them all.
const FINDINGS_PER_SCOPE: usize = 500;

/// The `<nav>` link to the section, or nothing for a single scope.
pub fn nav(doc: &ReportDocument) -> &'static str {
    if doc.scopes.len() > 1 {
        "<a href=\"#scopes\">Scopes</a>"
    } else {
        ""
    }
}

/// The anchor of a scope's block: its position (unique) and its id reduced to characters that
/// need no escaping in a fragment.
fn anchor(index: usize, id: &str) -> String {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    format!("scope-{index}-{safe}")
}

/// The section, or nothing for a report of one scope.
pub fn section(doc: &ReportDocument) -> String {
    let scopes = &doc.scopes;
    if scopes.len() <= 1 {
        return String::new();
    }
    let mut out = String::new();
    let count = |f: &dyn Fn(&ScopeSummary) -> bool| scopes.iter().filter(|s| f(s)).count();
    let with_findings = count(&|s| s.open() > 0);
    let incomplete = count(&|s| s.coverage == ScopeCoverage::Incomplete);
    let not_scanned = count(&|s| s.coverage == ScopeCoverage::NotScanned);
    let clean = count(&|s| s.clean());
    let _ = write!(
        out,
        "<section id=\"scopes\" data-testid=\"scopes\" aria-labelledby=\"scopes-title\">\n\
         <h2 id=\"scopes-title\">Scopes</h2>\n<p data-testid=\"scopes-line\">{} scopes: \
         {with_findings} with open findings, {incomplete} incomplete, {not_scanned} not \
         scanned, {clean} clean and complete. Worst first; a scope's row links to its \
         findings.</p>\n",
        scopes.len()
    );
    let listed: Vec<(usize, &ScopeSummary)> = scopes
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.clean())
        .collect();
    if !listed.is_empty() {
        out.push_str(
            "<table class=\"data scopes\" data-testid=\"scopes-table\">\n<caption class=\"muted\">\
             Open findings per severity, waived findings and coverage of each scope</caption>\n\
             <thead><tr><th scope=\"col\">Scope</th><th scope=\"col\">Name / path</th>\
             <th scope=\"col\">Critical</th><th scope=\"col\">High</th><th scope=\"col\">Medium</th>\
             <th scope=\"col\">Low</th><th scope=\"col\">Info</th><th scope=\"col\">Waived</th>\
             <th scope=\"col\">Coverage</th></tr></thead>\n<tbody>\n",
        );
        for (i, s) in &listed {
            let names: Vec<String> = [s.name.as_deref(), s.path.as_deref()]
                .into_iter()
                .flatten()
                .map(escape_html)
                .collect();
            let _ = writeln!(
                out,
                "<tr class=\"cov-{cov}\"><th scope=\"row\"><a href=\"#{a}\">{id}</a></th>\
                 <td>{names}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{covtext}</td></tr>",
                s.critical,
                s.high,
                s.medium,
                s.low,
                s.info,
                s.waived,
                cov = match s.coverage {
                    ScopeCoverage::Complete => "complete",
                    ScopeCoverage::Incomplete => "incomplete",
                    ScopeCoverage::NotScanned => "not-scanned",
                },
                a = anchor(*i, &s.id),
                id = escape_html(&s.id),
                names = names.join("<br>"),
                covtext = escape_html(&s.coverage_text()),
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    for (i, s) in &listed {
        scope_block(&mut out, doc, *i, s);
    }
    if clean > 0 {
        let _ = write!(
            out,
            "<details class=\"scope\" data-testid=\"scopes-clean\"><summary>{clean} scope(s) \
             clean and complete: no finding, every call read</summary>\n<ul>\n"
        );
        for s in scopes.iter().filter(|s| s.clean()) {
            let _ = writeln!(out, "<li>{}</li>", escape_html(&s.label()));
        }
        out.push_str("</ul>\n</details>\n");
    }
    out.push_str("</section>\n");
    out
}

/// The coverage gaps several scopes share, one row each naming every scope in a `<details>`
/// (static markup at the top of the Coverage section, whose table below still lists every
/// entry); nothing when no gap is shared (always, for a report of one scope).
pub fn shared_gaps(doc: &ReportDocument) -> String {
    if doc.scopes.len() <= 1 {
        return String::new();
    }
    let groups: Vec<GapGroup<'_>> = gap_groups(&doc.coverage)
        .into_iter()
        .filter(GapGroup::shared)
        .collect();
    if groups.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "<div data-testid=\"coverage-groups\">\n<h3>Gaps shared by several scopes ({})</h3>\n\
         <p class=\"muted\">The same gap (service, region, status, call, failure and permission) \
         in several scopes is one row; the table below lists every entry.</p>\n\
         <table class=\"data\"><thead><tr><th scope=\"col\">Service</th>\
         <th scope=\"col\">Region</th><th scope=\"col\">Status</th><th scope=\"col\">Gap</th>\
         <th scope=\"col\">Scopes</th></tr></thead>\n<tbody>\n",
        groups.len()
    );
    for g in &groups {
        let _ = write!(
            out,
            "<tr class=\"incomplete-row\" data-testid=\"coverage-group\"><td>{}</td><td>{}</td>\
             <td class=\"status\">{}</td><td>{}</td><td><details><summary>{} scopes</summary><ul>",
            escape_html(g.service),
            escape_html(g.region),
            escape_html(g.status.as_str()),
            escape_html(&g.reason),
            g.scopes.len(),
        );
        for scope in &g.scopes {
            let _ = write!(out, "<li>{}</li>", escape_html(scope));
        }
        out.push_str("</ul></details></td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
    out
}

/// One scope's `<details>`: its coverage and its open findings, highest severity first.
fn scope_block(out: &mut String, doc: &ReportDocument, index: usize, s: &ScopeSummary) {
    let mut open: Vec<&FindingEntry> = doc.open().filter(|f| f.scope == s.id).collect();
    open.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let _ = writeln!(
        out,
        "<details class=\"scope\" id=\"{}\" data-scope=\"{}\"><summary>{}: {} open finding(s), \
         {} waived; coverage {}</summary>",
        anchor(index, &s.id),
        escape_html(&s.id),
        escape_html(&s.label()),
        s.open(),
        s.waived,
        escape_html(&s.coverage_text()),
    );
    if open.is_empty() {
        out.push_str("<p class=\"muted\">No open finding in this scope.</p>\n");
    } else {
        out.push_str(
            "<table class=\"data\"><thead><tr><th scope=\"col\" class=\"sev-col\">Severity</th>\
             <th scope=\"col\">Rule</th><th scope=\"col\">Resource</th><th scope=\"col\">Where</th>\
             <th scope=\"col\">Finding</th></tr></thead>\n<tbody>\n",
        );
        for f in open.iter().take(FINDINGS_PER_SCOPE) {
            let place: Vec<&str> = [
                f.region.as_deref(),
                f.cluster.as_deref(),
                f.node_pool.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect();
            let _ = writeln!(
                out,
                "<tr><td><span class=\"sev {sev}\">{sev}</span></td><td>{}</td>\
                 <td title=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
                escape_html(&f.rule_id),
                escape_html(&f.resource),
                escape_html(short(&f.resource)),
                escape_html(&place.join(" / ")),
                escape_html(&f.message),
                sev = severity_class(f.severity),
            );
        }
        out.push_str("</tbody>\n</table>\n");
        if open.len() > FINDINGS_PER_SCOPE {
            let _ = writeln!(
                out,
                "<p class=\"muted\">and {} more: the findings table below lists every finding.</p>",
                open.len() - FINDINGS_PER_SCOPE
            );
        }
    }
    out.push_str("</details>\n");
}

fn severity_class(s: Severity) -> &'static str {
    s.as_str()
}
