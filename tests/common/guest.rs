//! A fixture guest left running for a test (`fixtures/qmp-guest.sh`,
//! `fixtures/lesson-guest.sh`), killed and its files removed when dropped.

use quiesce::dump::Qmp;
use std::path::PathBuf;
use std::process::Command;

pub struct Guest {
    pub dir: PathBuf,
    pub pid: String,
    pub extra_files: Vec<PathBuf>,
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-9", &self.pid]).status();
        for f in &self.extra_files {
            let _ = std::fs::remove_file(f);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Guest {
    /// Boot with `script` (a file of `fixtures/`) into `CARGO_TARGET_TMPDIR/name`.
    pub fn boot(
        script: &str,
        name: &str,
        qemu_args: &[String],
        extra_files: Vec<PathBuf>,
    ) -> Guest {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(script);
        let out = Command::new("bash")
            .arg(&script)
            .arg(&dir)
            .args(qemu_args)
            .output()
            .expect("run the guest script");
        assert!(
            out.status.success(),
            "the guest did not boot: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{}", String::from_utf8_lossy(&out.stderr).trim());
        Guest {
            dir,
            pid: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            extra_files,
        }
    }

    /// `qmp:SOCK`, the `-c` argument.
    pub fn sock(&self) -> String {
        format!("qmp:{}", self.dir.join("qmp.sock").display())
    }

    pub fn qmp(&self) -> Qmp {
        Qmp::connect(self.dir.join("qmp.sock").to_str().unwrap()).expect("QMP connects")
    }

    pub fn running(&self) -> bool {
        let st = self.qmp().execute("query-status", None).unwrap();
        st["running"].as_bool().unwrap()
    }
}
