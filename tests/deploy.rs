//! The deployment files under deploy/: the Kubernetes manifests parse as
//! YAML with what a GPU job needs, the Slurm scripts are valid bash, and
//! the command each runs is one the binary accepts (the real parser;
//! nothing is run). The Slurm scripts themselves run on a real cluster in
//! `deploy/slurm/test-local.sh`, which `.ci/run` calls.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use mwbench::cli::Cli;
use yaml_rust2::{Yaml, YamlLoader};

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path)
}

/// Parses `argv` (program name first) with mwbench's own parser.
fn accepted(argv: &[String]) {
    if let Err(error) = Cli::try_parse_from(argv) {
        panic!("{argv:?} is not a command mwbench accepts: {error}");
    }
}

fn strings(yaml: &Yaml) -> Vec<String> {
    yaml.as_vec()
        .unwrap_or_else(|| panic!("a list: {yaml:?}"))
        .iter()
        .map(|item| item.as_str().expect("a string").to_string())
        .collect()
}

#[test]
fn the_kubernetes_job_runs_every_gpu_of_each_node_with_a_command_mwbench_accepts() {
    let text = std::fs::read_to_string(deploy("kubernetes/mwbench-job.yaml")).unwrap();
    let documents = YamlLoader::load_from_str(&text).expect("the manifest is YAML");
    let [job, claim] = &documents[..] else {
        panic!("a Job and its volume claim: {documents:?}");
    };
    assert_eq!(job["kind"].as_str(), Some("Job"));
    assert_eq!(job["spec"]["completionMode"].as_str(), Some("Indexed"));
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(
        pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
            ["topologyKey"]
            .as_str(),
        Some("kubernetes.io/hostname"),
        "one pod per node"
    );
    let container = &pod["containers"][0];
    assert!(
        container["resources"]["limits"]["nvidia.com/gpu"]
            .as_i64()
            .is_some_and(|gpus| gpus > 0)
    );
    // The command, with the variables Kubernetes substitutes.
    let mut argv = strings(&container["command"]);
    argv.extend(strings(&container["args"]).into_iter().map(|arg| {
        arg.replace("$(NODE_NAME)", "gpu-node-1")
            .replace("$(JOB_COMPLETION_INDEX)", "0")
    }));
    accepted(&argv);
    assert!(
        argv.windows(2).any(|w| w == ["--format", "json"]),
        "JSON to the pod log"
    );
    assert!(argv.iter().any(|a| a == "--concurrent"));
    let out = argv
        .windows(2)
        .find(|w| w[0] == "--out")
        .map(|w| w[1].clone())
        .expect("--out");
    let mount = container["volumeMounts"][0]["mountPath"].as_str().unwrap();
    assert!(out.starts_with(mount), "{out} is on the volume at {mount}");
    let env: Vec<&str> = container["env"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(env.contains(&"NODE_NAME"), "{env:?}");
    // The claim the pod mounts is the one defined beside it.
    assert_eq!(claim["kind"].as_str(), Some("PersistentVolumeClaim"));
    assert_eq!(
        pod["volumes"][0]["persistentVolumeClaim"]["claimName"].as_str(),
        claim["metadata"]["name"].as_str()
    );
}

#[test]
fn the_slurm_scripts_are_bash_that_runs_commands_mwbench_accepts() {
    for script in [
        "slurm/mwbench-array.sbatch",
        "slurm/mwbench-merge.sbatch",
        "slurm/test-local.sh",
    ] {
        let status = Command::new("bash")
            .arg("-n")
            .arg(deploy(script))
            .status()
            .unwrap();
        assert!(status.success(), "bash -n {script}");
    }
    let array = std::fs::read_to_string(deploy("slurm/mwbench-array.sbatch")).unwrap();
    assert!(array.contains("exec \"$mwbench\" run \"${args[@]}\" --out \"$out\""));
    let default = array
        .split("${MWBENCH_ARGS:-")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .expect("a default for MWBENCH_ARGS");
    let mut argv: Vec<String> = vec!["mwbench".into(), "run".into()];
    argv.extend(default.split_whitespace().map(String::from));
    argv.extend(["--out".into(), "/shared/node-1-0.json".into()]);
    accepted(&argv);
    let merge = std::fs::read_to_string(deploy("slurm/mwbench-merge.sbatch")).unwrap();
    assert!(merge.contains("exec \"$mwbench\" merge \"$MWBENCH_RESULTS\" --out"));
    accepted(&["mwbench", "merge", "/shared", "--out", "/shared/site.json"].map(String::from));
    // The runs the local cluster test submits.
    let test = std::fs::read_to_string(deploy("slurm/test-local.sh")).unwrap();
    for line in test
        .lines()
        .filter(|l| l.starts_with("export MWBENCH_ARGS="))
    {
        let args = line.split('"').nth(1).unwrap();
        let mut argv: Vec<String> = vec!["mwbench".into(), "run".into()];
        argv.extend(args.split_whitespace().map(String::from));
        accepted(&argv);
    }
}
