"""drgn without debug info: kallsyms from the dump (drgn.helpers.linux.kallsyms, 0.0.30+)
and the ORC tables the kernel keeps in memory (drgn's built-in ORC, 0.0.31+), the mode
drgn offers when no vmlinux is at hand. Used by tests/dumponly_drgn.rs.

    python drgn_kallsyms_orc.py DUMP STARTS.json > OUT.json

STARTS.json: {"tasks": [{"key": ..., "regs": {"ip": .., "sp": .., "bp": .., ...}}]}, each
task's starting registers as quiesce found them (drgn cannot find tasks without types).
drgn is given a `struct pt_regs` made by hand (the x86_64 layout of
arch/x86/include/asm/ptrace.h) and unwinds from it on its own. OUT.json: every kallsyms
symbol drgn decoded, and each task's frames (symbol name, offset, pc)."""
import json
import sys

import drgn
from drgn import Object, Program
from drgn.helpers.linux.kallsyms import load_vmlinux_kallsyms

dump, starts = sys.argv[1], json.load(open(sys.argv[2]))
prog = Program()
prog.set_core_dump(dump)
index = load_vmlinux_kallsyms(prog)
prog.register_symbol_finder("vmlinux_kallsyms", index, enable_index=0)
# drgn loads the built-in ORC for the kernel's main module once it knows its range.
main = prog.main_module(name="kernel", create=True)
main.address_range = (prog.symbol("_text").address, prog.symbol("_end").address)

u64 = prog.int_type("unsigned long", 8, False)
names = ["r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx",
         "dx", "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss"]
pt_regs = prog.struct_type(
    "pt_regs", 8 * len(names), [drgn.TypeMember(u64, n, 64 * i) for i, n in enumerate(names)]
)

out = {"symbols": [], "stacks": {}}
for s in prog.symbols():
    out["symbols"].append([s.name, s.address])
for t in starts["tasks"]:
    val = {n: 0 for n in names}
    val.update({k: v for k, v in t["regs"].items() if k in val})
    val["cs"] = 0x10  # kernel mode
    frames = []
    try:
        for f in prog.stack_trace(Object(prog, pt_regs, value=val)):
            sym = f.symbol() if f.pc else None
            if sym is None:
                try:
                    sym = prog.symbol(f.pc)
                except LookupError:
                    sym = None
            frames.append([sym.name if sym else None, f.pc - sym.address if sym else 0, f.pc])
    except Exception as e:  # a trace drgn cannot start is recorded, not fatal
        frames.append(["error: " + str(e), 0, 0])
    out["stacks"][t["key"]] = frames
json.dump(out, sys.stdout)
