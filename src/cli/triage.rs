//! Scan results as the service centre triages them: findings, most urgent first.

use crate::reader::ScanReport;
use crate::triage::assess;

/// Text lines for the findings of a scan.
pub fn render_codes(report: &ScanReport) -> Vec<String> {
    let triage = assess(report);
    let mut lines = Vec::new();
    if triage.findings.is_empty() {
        lines.push("No trouble codes.".to_string());
        return lines;
    }
    lines.push("Findings, most urgent first".to_string());
    for finding in &triage.findings {
        let statuses: Vec<String> = finding
            .codes
            .iter()
            .map(|code| {
                let mut kinds: Vec<String> = report
                    .dtcs
                    .iter()
                    .filter(|d| d.code == *code)
                    .map(|d| format!("{} on {}", format!("{:?}", d.kind).to_lowercase(), d.ecu))
                    .collect();
                kinds.dedup();
                format!("{code}: {}", kinds.join(", "))
            })
            .collect();
        lines.push(String::new());
        lines.push(format!(
            "  {:<9} {}",
            finding.urgency.as_str().to_uppercase(),
            finding.title
        ));
        for info in &finding.knowledge {
            lines.push(format!("            {}  {}", info.code, info.description));
        }
        lines.push(format!("            read as   {}", statuses.join("; ")));
        if let Some(info) = finding.knowledge.first() {
            lines.push(format!("            meaning   {}", info.meaning));
            lines.push(format!("            next step {}", info.action));
        }
        lines.push(format!(
            "            workshop  {} ({}), {}",
            finding.skill, finding.subsystem, finding.labour
        ));
        for reason in &finding.reasons {
            lines.push(format!("            why       {reason}"));
        }
    }
    lines
}
