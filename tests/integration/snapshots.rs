//! Snapshots of the main human outputs (insta): a change to what people read is a reviewed change. Paths,
//! ages, ids and versions are replaced by placeholders so the snapshots hold only what we decide.

use crate::common::TestRepo;

/// Replace what differs from run to run.
fn settings(t: &TestRepo) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex_escape(&t.root.display().to_string()), "[ROOT]");
    s.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]");
    s.add_filter(r"\S+@\S+ pid \d+", "[WRITER]");
    s.add_filter(r"\b[0-9a-f]{40}\b", "[OID]");
    s.add_filter(r"\b[0-9a-f]{10}\b", "[SHORT-OID]");
    s.add_filter(r"\b\d+(\.\d+)?(ms|s|m|h|d)\b", "[AGE]");
    s.add_filter(r"git \d+\.\d+\.\d+", "git [VERSION]");
    s.add_filter(r"pid \d+", "pid [PID]");
    s.set_snapshot_path("snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

fn regex_escape(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '/' { c.to_string() } else { format!("\\{c}") }).collect()
}

#[test]
fn human_outputs() {
    let t = TestRepo::new();
    t.neighbor(&["init"]).ok();
    t.git(&["add", ".neighbor.toml"]);
    t.git(&["commit", "-qm", "neighbor config"]);
    let p = t.add("t1", &[]);
    crate::common::write_in(&p, "work.txt", "uncommitted\n");
    t.add("t2", &[]);
    let settings = settings(&t);
    settings.bind(|| {
        insta::assert_snapshot!("list", t.neighbor(&["list"]).ok().stdout);
        insta::assert_snapshot!("list_full", t.neighbor(&["list", "--full"]).ok().stdout);
        insta::assert_snapshot!("status", t.neighbor(&["status"]).ok().stdout);
        let refused = t.neighbor(&["remove", "t1"]);
        assert_eq!(refused.code, 3);
        insta::assert_snapshot!("remove_refused", refused.stderr);
        let prune = t.neighbor(&["prune", "--dry-run"]).ok();
        insta::assert_snapshot!("prune_dry_run", format!("{}{}", prune.stdout, prune.stderr));
        let doctor = t.neighbor(&["doctor"]);
        insta::assert_snapshot!("doctor", format!("exit {}\n{}{}", doctor.code, doctor.stdout, doctor.stderr));
        t.delta(
            &t.dir,
            &["--frame", "1", "--stream", "s1"],
            r#"{"ops":[{"op":"set","path":"a.json","pointer":"/x","value":1}]}"#,
        )
        .ok();
        insta::assert_snapshot!("delta_list", t.neighbor(&["delta", "list"]).ok().stdout);
        let m = t.neighbor(&["merge-frame"]).ok();
        insta::assert_snapshot!("merge_frame", format!("{}{}", m.stdout, m.stderr));
    });
}
