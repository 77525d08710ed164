//! The property-fuzzing driver shared by `symbols-core` (`tests/fuzz.rs`) and
//! `upstash-rest` (`src/response.rs`): one table of properties per crate, run either once
//! with a fixed seed (the test suite) or in batches with fresh seeds for a while (the
//! ignored `long_run` that `scripts/fuzz.sh` starts).
//!
//! Env: `FUZZ_SEED=<u64>` (decimal or `0x` hex) and `FUZZ_CASES=<n>` replay or widen a run;
//! `FUZZ_SECONDS` bounds the long run; `FUZZ_ONLY=<substring>` restricts it where the
//! crate's [`Suite`] says so.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestRunner};

/// One property: a name, the cases of one run, and the run itself.
pub struct Prop {
    pub name: &'static str,
    /// Cases in the test-suite run (and per batch in the long run).
    pub cases: u32,
    pub run: fn(&mut TestRunner) -> Result<(), String>,
}

/// A crate's table of properties and how its runs are reported.
pub struct Suite {
    /// In the summary title: `fuzz summary (<crate_name>, ...)`.
    pub crate_name: &'static str,
    /// Put before each property's name in the summary rows (`""` or `"upstash "`).
    pub row_prefix: &'static str,
    /// The replay command without the property's name (it is appended).
    pub replay: &'static str,
    /// Seed of the test-suite run.
    pub seed: u64,
    /// Whether `FUZZ_ONLY` restricts this crate's long run.
    pub honours_only: bool,
    pub props: &'static [Prop],
}

/// A number from the environment, decimal or `0x` hex.
pub fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// A deterministic runner: ChaCha from `seed`, no persistence files, deep shrinking.
pub fn runner(seed: u64, cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    })
}

/// SplitMix64: independent-looking seeds from a counter.
pub fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Suite {
    /// The test-suite run of one property: the suite's seed and the property's case count
    /// unless `FUZZ_SEED` / `FUZZ_CASES` say otherwise. Panics with the replay command.
    pub fn run_one(&self, name: &str) {
        let prop = self
            .props
            .iter()
            .find(|p| p.name == name)
            .expect("property is in the suite's table");
        let seed = env_u64("FUZZ_SEED").unwrap_or(self.seed);
        let cases =
            env_u64("FUZZ_CASES").map_or(prop.cases, |n| n.clamp(1, u64::from(u32::MAX)) as u32);
        if let Err(e) = (prop.run)(&mut runner(seed, cases)) {
            panic!(
                "fuzz property {name} failed (seed {seed}, {cases} cases): {e}\n\
                 replay: FUZZ_SEED={seed} FUZZ_CASES={cases} {}{name}",
                self.replay
            );
        }
    }

    /// Every property in turn, one batch (`cases` cases, a fresh seed) at a time, the one
    /// that has had the least time first, until `FUZZ_SECONDS` (default 60) have passed. A
    /// failing property is reported with its replay command and not run again; the run
    /// panics at the end if any failed. Prints a summary table.
    pub fn long_run(&self) {
        let seconds = env_u64("FUZZ_SECONDS").unwrap_or(60);
        let only = if self.honours_only {
            std::env::var("FUZZ_ONLY").unwrap_or_default()
        } else {
            String::new()
        };
        let base = env_u64("FUZZ_SEED").unwrap_or_else(|| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            now.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)
        });
        let props: Vec<&Prop> = self
            .props
            .iter()
            .filter(|p| p.name.contains(only.as_str()))
            .collect();
        assert!(!props.is_empty(), "FUZZ_ONLY={only:?} matches no property");
        let started = Instant::now();
        let deadline = started + Duration::from_secs(seconds);
        let mut cases = vec![0u64; props.len()];
        let mut spent = vec![Duration::ZERO; props.len()];
        let mut failed = vec![false; props.len()];
        let mut failures: Vec<String> = Vec::new();
        let mut counter = 0u64;
        eprintln!(
            "fuzz: {} properties for {seconds} s (base seed {base})",
            props.len()
        );
        // Next: the property that has had the least time so far (each gets about the same).
        while Instant::now() < deadline {
            let Some(i) = (0..props.len())
                .filter(|&i| !failed[i])
                .min_by_key(|&i| spent[i])
            else {
                break;
            };
            let prop = props[i];
            counter += 1;
            let seed = splitmix(base.wrapping_add(counter));
            let t = Instant::now();
            let result = (prop.run)(&mut runner(seed, prop.cases));
            spent[i] += t.elapsed();
            match result {
                Ok(()) => cases[i] += u64::from(prop.cases),
                Err(e) => {
                    failed[i] = true;
                    let msg = format!(
                        "{}: {e}\n  replay: FUZZ_SEED={seed} FUZZ_CASES={} {}{}",
                        prop.name, prop.cases, self.replay, prop.name
                    );
                    eprintln!("fuzz: FAILED {msg}");
                    failures.push(msg);
                }
            }
        }
        let total: u64 = cases.iter().sum();
        println!(
            "\nfuzz summary ({}, {:.0} s, base seed {base})",
            self.crate_name,
            started.elapsed().as_secs_f64()
        );
        println!("| property | cases | seconds | result |\n|---|---:|---:|---|");
        for (i, prop) in props.iter().enumerate() {
            let result = if failed[i] { "FAILED" } else { "ok" };
            println!(
                "| {}{} | {} | {:.1} | {result} |",
                self.row_prefix,
                prop.name,
                cases[i],
                spent[i].as_secs_f64()
            );
        }
        println!("| **total** | **{total}** | | {} failed |", failures.len());
        assert!(
            failures.is_empty(),
            "{} fuzz properties failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}
