//! Tree RCU: `rcu_state`, the `rcu_node` tree, per-CPU `rcu_data`, and who holds up the
//! current grace period.

use crate::kernel::{Kernel, KernelError};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct RcuReport {
    pub errors: Vec<String>,
}

impl crate::report::Report for RcuReport {
    fn text(&self) -> String {
        String::new()
    }
}

pub fn rcu_report(_k: &Kernel) -> Result<RcuReport, KernelError> {
    Ok(RcuReport { errors: vec![] })
}
