//! Time the debuginfo operations `open + ps` needs:
//! `cargo run --release --example di_bench -- VMLINUX [--full]`
//! (`--full` also times a full index via `type_names()`).

use quiesce::debuginfo::DebugInfo;
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: di_bench VMLINUX [--full]")?);
    let full = args.next().as_deref() == Some("--full");
    let t0 = Instant::now();
    let mut last = t0;
    let mut lap = |what: &str, di: Option<&DebugInfo>| {
        let now = Instant::now();
        let p = di.map(|d| d.index_progress()).unwrap_or_default();
        println!(
            "{what:<40} {:>9.2} ms  (total {:>8.2} ms) units {}/{}",
            (now - last).as_secs_f64() * 1e3,
            (now - t0).as_secs_f64() * 1e3,
            p.0,
            p.1
        );
        last = now;
    };
    let di = DebugInfo::open_vmlinux(&path)?;
    lap("open", Some(&di));
    let task = di.find_type("struct task_struct")?;
    lap("find_type(struct task_struct)", Some(&di));
    let sz = di.sizeof(task);
    lap("sizeof(task_struct)", Some(&di));
    let sp = di.member(task, "thread.sp")?;
    lap("member(thread.sp)", Some(&di));
    let _ = di.member(task, "tasks")?;
    let _ = di.member(task, "pid")?;
    let _ = di.member(task, "comm")?;
    lap("member(tasks, pid, comm)", Some(&di));
    let it = di.find_variable("init_task")?;
    lap("find_variable(init_task)", Some(&di));
    let rq = di.find_variable("runqueues")?;
    lap("find_variable(runqueues)", Some(&di));
    let rqt = di.find_type("struct rq")?;
    let nr = di.member(rqt, "nr_running")?;
    lap("struct rq + nr_running", Some(&di));
    let f = di.find_function("schedule");
    lap("find_function(schedule)", Some(&di));
    let addr = f.as_ref().map(|f| f.low_pc + 0x10).unwrap_or(0);
    let l = di.lines(addr);
    lap("lines(schedule+0x10) first", Some(&di));
    let l2 = di.lines(addr + 4);
    lap("lines(schedule+0x14)", Some(&di));
    let s = di.symbolize(addr);
    lap("symbolize", Some(&di));
    // Assembly (entry code) at the bottom of every kernel thread's stack.
    let rff = di.symbol("ret_from_fork").map(|s| s.addr + 5).unwrap_or(0);
    let l3 = di.lines(rff);
    lap("lines(ret_from_fork+5)", Some(&di));
    println!("ret_from_fork lines: {l3:?}");
    println!(
        "sizeof(task_struct)={sz:?} thread.sp={} init_task={:#x} runqueues={:#x} percpu={} rq.nr_running={}",
        sp.offset, it.addr, rq.addr, rq.percpu, nr.offset
    );
    println!("schedule={f:?}\nlines={l:?}\n{l2:?}\nsym={s:?}");
    if full {
        let n = di.type_names().count();
        lap("full index (type_names)", Some(&di));
        println!("{n} names");
        let e = di.find_type("struct does_not_exist_anywhere");
        lap("negative find_type after full index", Some(&di));
        println!("{e:?}");
    }
    Ok(())
}
