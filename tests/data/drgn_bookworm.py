#!/usr/bin/env python3
"""Reference numbers for tests/debuginfo_real.rs, computed by drgn from a vmlinux (no core).
Usage: python drgn_bookworm.py VMLINUX > drgn_bookworm.json"""
import json, sys, drgn
p = drgn.Program(drgn.host_platform)
m = p.extra_module("vmlinux", create=True)
m.address_range = (0xffffffff81000000, 0xffffffff84000000)  # bias 0: link-time addresses
m.try_file(sys.argv[1], force=True)
ts = p.type("struct task_struct")
out = {
    "build_id": m.build_id.hex(),
    "sizeof": {n: drgn.sizeof(p.type(n)) for n in ["struct task_struct", "struct list_head", "struct rq", "atomic_long_t", "unsigned long"]},
    "offsetof": {},
    "enumerators": {},
    "variables": {},
}
for t, members in [("struct task_struct", ["pid", "tgid", "comm", "tasks", "thread.sp", "__state", "real_parent", "stack", "on_cpu", "thread_info.cpu", "se.avg.load_avg"]), ("struct rq", ["nr_running", "curr"])]:
    for mem in members:
        out["offsetof"][f"{t}:{mem}"] = drgn.offsetof(p.type(t), mem)
for e in ["TASK_COMM_LEN", "WORK_STRUCT_PWQ_BIT", "HRTIMER_MODE_REL", "PIDTYPE_TGID"]:
    try:
        out["enumerators"][e] = p.constant(e).value_()
    except LookupError:
        pass
for v in ["init_task", "runqueues", "jiffies_64", "linux_banner"]:
    o = p.variable(v)
    out["variables"][v] = {"addr": o.address_, "type": str(o.type_.type_name())}
f = p.function("schedule")
out["function"] = {"name": "schedule", "addr": f.address_}
out["lines"] = {}
for off in [0x10]:
    a = f.address_ + off
    frames = p.stack_trace_from_pcs([a])
    out["lines"][str(a)] = [{"function": fr.name, "file": fr.source()[0], "line": fr.source()[1]} for fr in frames]
print(json.dumps(out, indent=1, sort_keys=True))
