//! AppSec (seed 001): data-source integrations, SARIF imports and the code findings they
//! report.

mod code_findings;
mod integrations;

pub use code_findings::{
    CodeFindingEvent, CodeFindingFilter, CodeFindingRecord, CodeFindingSort, CodeTriage,
    ImportCounts, NewCodeFinding, Relocation, SarifImportRecord, SarifImportWrite, ScopeFinding,
    StatusChange,
};
pub use integrations::{IntegrationChanges, IntegrationRecord, NewIntegration};
