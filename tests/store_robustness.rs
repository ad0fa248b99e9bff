//! The config file survives crashes and concurrent writers: the real binary is killed
//! mid-save and raced against itself, and the file must always parse and lose nothing
//! that was committed.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, rig_required};
use ifs_connect::core::store::Store;

const SAVES: usize = 200;

fn add_args(name: &str) -> Vec<String> {
    [
        "add",
        "--name",
        name,
        "--auth",
        "openid",
        "--base-url",
        "https://ifs.example.com",
        "--authority",
        "https://ifs.example.com/auth/realms/prod",
        "--client-id",
        "flow",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn spawn_add(env: &Env, name: &str) -> Child {
    env.cmd(&add_args(name))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ifs-connect")
}

fn names_in(store: &Store) -> Vec<String> {
    store
        .load()
        .expect("the config must always parse")
        .connectors
        .into_iter()
        .map(|c| c.name)
        .collect()
}

/// A small deterministic pseudo-random sequence, so a failure can be replayed.
fn delays(count: usize, max_micros: u64) -> impl Iterator<Item = Duration> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..count).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Duration::from_micros(state % max_micros)
    })
}

#[test]
fn sigkill_at_random_points_of_200_saves_never_corrupts_or_loses_a_commit() {
    rig_required();
    let env = Env::new();
    let store = Store::new(env.config_dir());
    let mut committed: Vec<String> = Vec::new();
    let mut killed = 0;
    for (i, delay) in delays(SAVES, 25_000).enumerate() {
        let name = format!("c{i:03}");
        let mut child = spawn_add(&env, &name);
        std::thread::sleep(delay);
        if child.try_wait().expect("poll the child").is_none() {
            child.kill().expect("SIGKILL the save");
            killed += 1;
        }
        let status = child.wait().expect("reap the child");
        let names = names_in(&store);
        for earlier in &committed {
            assert!(
                names.contains(earlier),
                "save {i} lost the committed connector {earlier}"
            );
        }
        let landed = names.contains(&name);
        assert!(
            names.len() == committed.len() + usize::from(landed),
            "save {i}: the file holds neither the old nor the new config: {names:?}"
        );
        if status.success() {
            assert!(landed, "save {i} reported success but did not land");
        }
        if landed {
            committed.push(name);
        }
    }
    // The kills must have hit some saves and missed others, or the test proved nothing.
    assert!(killed > 0, "no save was interrupted; raise the delay range");
    assert!(
        !committed.is_empty(),
        "no save completed; lower the delay range"
    );
    // Killed writers may leave temp files; the next save sweeps them away.
    let out = env.run(&add_args("final"), None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let leftovers: Vec<String> = std::fs::read_dir(env.config_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
    eprintln!(
        "{killed} of {SAVES} saves killed, {} committed",
        committed.len()
    );
}

#[test]
fn two_processes_saving_200_times_each_lose_no_edit() {
    rig_required();
    let env = Env::new();
    let writer = |prefix: &'static str| {
        let program = env!("CARGO_BIN_EXE_ifs-connect");
        let pairs = env.env_pairs();
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut failures = Vec::new();
            for i in 0..SAVES {
                assert!(
                    started.elapsed() < Duration::from_secs(240),
                    "writer {prefix} is stuck"
                );
                let out = Command::new(program)
                    .args(add_args(&format!("{prefix}{i:03}")))
                    .envs(pairs.iter().cloned())
                    .stdin(Stdio::null())
                    .output()
                    .expect("run ifs-connect");
                if !out.status.success() {
                    failures.push(String::from_utf8_lossy(&out.stderr).into_owned());
                }
            }
            failures
        })
    };
    let a = writer("a");
    let b = writer("b");
    let failures: Vec<String> = [a, b].into_iter().flat_map(|t| t.join().unwrap()).collect();
    // A save may only fail with the clear conflict message, never silently.
    for failure in &failures {
        assert!(
            failure.contains("another ifs-connect is saving"),
            "unexpected failure: {failure}"
        );
    }
    let names = names_in(&Store::new(env.config_dir()));
    assert_eq!(
        names.len() + failures.len(),
        2 * SAVES,
        "every save either landed or said why not"
    );
}
