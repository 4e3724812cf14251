//! Whole-dump tests: files built in code for every format, opened through `Dump`.
