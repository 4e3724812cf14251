//! Subcommand bodies: open the kernel, build a report, print it.

use super::{Cli, Command, Target};
use crate::kernel::expr::Evaluated;
use crate::kernel::value::{ReadLimits, Value, type_name};
use crate::kernel::{self, Kernel, OpenOptions};
use crate::report::Report;
use crate::report::ps::PsReport;
use crate::report::sys::SysReport;
use anyhow::Result;
use serde::Serialize;

fn open(t: &Target) -> Result<Kernel> {
    let opts = OpenOptions {
        core: t.core.clone(),
        vmlinux: t.vmlinux()?,
        modules: t.modules(),
    };
    let k = kernel::open(&opts)?;
    for w in &k.warnings {
        eprintln!("quiesce: warning: {w}");
    }
    Ok(k)
}

fn emit<R: Report>(r: &R, json: bool) {
    if json {
        println!("{}", r.json());
    } else {
        print!("{}", r.text());
    }
}

pub fn run(cli: Cli) -> Result<i32> {
    let k = open(&cli.target)?;
    let json = cli.target.json;
    let code = command(&k, &cli, json)?;
    // What the name index learned speeds up the next run; failing to save only costs that.
    if let Err(e) = k.di.save_index_cache() {
        eprintln!("quiesce: warning: index cache not saved: {e}");
    }
    crate::timing::lap("index cache saved");
    Ok(code)
}

fn command(k: &Kernel, cli: &Cli, json: bool) -> Result<i32> {
    match &cli.command {
        Command::Ps => {
            let list = k.tasks()?;
            crate::timing::lap("tasks read");
            let r = PsReport::new(list.tasks, list.errors);
            emit(&r, json);
            crate::timing::lap("ps printed");
            Ok(if r.partial { 2 } else { 0 })
        }
        Command::Log => {
            let log = k.log()?;
            crate::timing::lap("log read");
            let r = LogReport {
                records: log.records,
                errors: log.errors,
            };
            emit(&r, json);
            Ok(if r.errors.is_empty() { 0 } else { 2 })
        }
        Command::Sys => {
            emit(&sys(k, &cli.target), json);
            Ok(0)
        }
        Command::Print { expr } => {
            let expr = expr.join(" ");
            let r = print(k, &expr)?;
            emit(&r, json);
            crate::timing::lap("printed");
            Ok(0)
        }
    }
}

#[derive(Serialize)]
struct LogReport {
    records: Vec<kernel::printk::LogRecord>,
    errors: Vec<String>,
}

impl Report for LogReport {
    fn text(&self) -> String {
        let mut s = String::new();
        for r in &self.records {
            s.push_str(&r.crash_line());
            s.push('\n');
        }
        for e in &self.errors {
            s.push_str(&format!("log: PARTIAL: {e}\n"));
        }
        s
    }
}

#[derive(Serialize)]
struct PrintItem {
    expr: String,
    cpu: Option<u32>,
    #[serde(rename = "type")]
    ty: Option<String>,
    address: Option<String>,
    value: Value,
}

#[derive(Serialize)]
struct PrintReport {
    items: Vec<PrintItem>,
}

impl Report for PrintReport {
    fn text(&self) -> String {
        let mut s = String::new();
        for i in &self.items {
            match i.cpu {
                Some(c) => s.push_str(&format!("per_cpu({}, {c}) = ", i.expr)),
                None => s.push_str(&format!("{} = ", i.expr)),
            }
            s.push_str(&i.value.fmt_c());
            s.push('\n');
        }
        s
    }
}

fn print(k: &Kernel, expr: &str) -> Result<PrintReport> {
    let body = expr.rsplit_once(':').map(|(b, _)| b).unwrap_or(expr);
    let items = k
        .eval(expr)?
        .into_iter()
        .map(|p| {
            let shown = if p.cpu.is_some() { body } else { expr };
            match p.result {
                Evaluated::Object(o) => PrintItem {
                    expr: shown.to_string(),
                    cpu: p.cpu,
                    ty: Some(type_name(&k.di, o.ty)),
                    address: Some(format!("{:#x}", o.addr.0)),
                    value: k.value(o, ReadLimits::default()),
                },
                Evaluated::Const { value, pointee } => PrintItem {
                    expr: shown.to_string(),
                    cpu: p.cpu,
                    ty: pointee.map(|t| format!("{} *", type_name(&k.di, t))),
                    address: None,
                    value: if pointee.is_some() {
                        Value::Pointer {
                            value,
                            symbol: k.symbol_name_exact(value),
                        }
                    } else {
                        Value::Int {
                            value: value as i128,
                        }
                    },
                },
            }
        })
        .collect();
    Ok(PrintReport { items })
}

fn sys(k: &Kernel, t: &Target) -> SysReport {
    let cpus = k.cpus().ok();
    let jiffies = k
        .symbol_addr("jiffies_64")
        .or_else(|_| k.symbol_addr("jiffies"))
        .ok()
        .and_then(|a| k.read_u64(a, "jiffies").ok());
    // HZ is a build constant; tick_nsec (kernel/time/ntp.c) = NSEC_PER_SEC / HZ.
    let hz = k
        .symbol_addr("tick_nsec")
        .ok()
        .and_then(|a| k.read_u64(a, "tick_nsec").ok())
        .filter(|&n| n > 0)
        .map(|n| (1_000_000_000f64 / n as f64).round());
    // INITIAL_JIFFIES = (unsigned long)(unsigned int)(-300 * HZ) on 64-bit.
    let uptime_secs = match (jiffies, hz) {
        (Some(j), Some(hz)) => {
            let initial = (-(300 * hz as i64)) as u32 as u64;
            Some(j.wrapping_sub(initial) as f64 / hz)
        }
        _ => None,
    };
    let panic = k.log().ok().and_then(|l| {
        l.records
            .iter()
            .find(|r| r.text.starts_with("Kernel panic - not syncing"))
            .map(|r| r.text.clone())
    });
    SysReport {
        dumpfile: t.core.display().to_string(),
        format: format!("{:?}", k.dump.format()),
        cpus: cpus.map(|c| c.possible.len() as u32).unwrap_or(0),
        cpus_online: cpus.map(|c| c.online.len()).unwrap_or(0),
        release: k.uts_field("release").unwrap_or_default(),
        version: k.uts_field("version").unwrap_or_default(),
        machine: k.uts_field("machine").unwrap_or_default(),
        nodename: k.uts_field("nodename").unwrap_or_default(),
        uptime_secs,
        jiffies,
        panic,
        kaslr_offset: format!("{:#x}", k.kaslr_offset),
        warnings: k.warnings.clone(),
    }
}
