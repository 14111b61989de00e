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

/// What the Kubernetes Job relies on in deploy/container/Containerfile.
struct Containerfile {
    /// The one command its header gives to build and push the image.
    build_command: String,
    entrypoint: Vec<String>,
    uid: i64,
    gid: i64,
    env: Vec<String>,
}

impl Containerfile {
    fn read() -> Containerfile {
        let text = std::fs::read_to_string(deploy("container/Containerfile")).unwrap();
        let instruction = |name: &str| {
            text.lines()
                .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
                .next_back()
                .unwrap_or_else(|| panic!("no {name} in the Containerfile"))
                .trim()
                .to_string()
        };
        let build_command = text
            .lines()
            .filter_map(|line| line.strip_prefix("#   "))
            .find(|line| line.contains("build ") && line.contains(" push "))
            .expect("a command to build and push the image")
            .to_string();
        let entrypoint = serde_json::from_str(&instruction("ENTRYPOINT"))
            .expect("ENTRYPOINT in exec form, as a JSON array");
        let user = instruction("USER");
        let (uid, gid) = user.split_once(':').expect("USER uid:gid");
        // ENV A=1 \ B=2 \ ...: the instruction's continuation lines.
        let env_start = text.find("\nENV ").expect("ENV") + 5;
        let mut env = Vec::new();
        for line in text[env_start..].lines() {
            env.extend(
                line.trim_end_matches('\\')
                    .split_whitespace()
                    .map(String::from),
            );
            if !line.ends_with('\\') {
                break;
            }
        }
        Containerfile {
            build_command,
            entrypoint,
            uid: uid.parse().unwrap(),
            gid: gid.parse().unwrap(),
            env,
        }
    }
}

#[test]
fn the_container_image_runs_mwbench_as_a_user_with_the_nvidia_runtimes_vulkan() {
    let image = Containerfile::read();
    assert_eq!(image.entrypoint, ["mwbench"]);
    assert!(image.uid > 0, "not root");
    for want in [
        // Without `graphics` the NVIDIA runtime mounts no Vulkan ICD.
        "NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics",
        "NVIDIA_VISIBLE_DEVICES=all",
        "XDG_RUNTIME_DIR=/tmp",
    ] {
        assert!(
            image.env.iter().any(|e| e == want),
            "{want} in {:?}",
            image.env
        );
    }
    let status = Command::new("bash")
        .args(["-n"])
        .arg(deploy("container/test-local.sh"))
        .status()
        .unwrap();
    assert!(
        status.success(),
        "deploy/container/test-local.sh is valid bash"
    );
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
    // The image is the Containerfile's, and the pod runs its entrypoint
    // (a `command` would replace it) with arguments mwbench parses, the
    // variables Kubernetes substitutes filled in.
    let image = Containerfile::read();
    let name = container["image"].as_str().expect("an image");
    assert!(
        image.build_command.contains(&format!("-t {name} "))
            && image.build_command.contains(&format!("push {name}")),
        "the manifest's image {name} is not the one the Containerfile says to build and push: {}",
        image.build_command
    );
    assert!(
        text.contains(&image.build_command),
        "the manifest says how to build {name}"
    );
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/deploy.md"))
            .unwrap();
    assert!(
        docs.contains(&image.build_command),
        "docs/deploy.md says how to build {name}"
    );
    let mut argv = match &container["command"] {
        Yaml::BadValue => image.entrypoint.clone(),
        command => {
            assert_eq!(
                strings(command),
                image.entrypoint,
                "the command is the image's entrypoint"
            );
            strings(command)
        }
    };
    assert_eq!(argv, ["mwbench"]);
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
    // The pod runs as the image's user, the volume writable to it.
    let security = &pod["securityContext"];
    assert_eq!(security["runAsUser"].as_i64(), Some(image.uid));
    assert_eq!(security["fsGroup"].as_i64(), Some(image.gid));
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
