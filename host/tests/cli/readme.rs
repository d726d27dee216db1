//! The README's example, run command by command as written, against a catalog on loopback.

use std::fs;

use crate::util::TestContext;

/// The `$ banger …` lines between the `readme-example` markers, without their comments.
fn readme_commands() -> Vec<Vec<String>> {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("<!-- readme-example -->")
        .expect("start marker");
    let end = readme.find("<!-- /readme-example -->").expect("end marker");
    readme[start..end]
        .lines()
        .filter_map(|line| line.strip_prefix("$ banger "))
        .map(|command| {
            let command = command.split(" #").next().unwrap();
            command.split_whitespace().map(str::to_owned).collect()
        })
        .collect()
}

#[test]
fn the_readme_example_works_as_written() {
    let commands = readme_commands();
    assert!(commands.len() >= 5, "{commands:?}");
    let mut t = TestContext::new();
    let server = t.https_server();
    // The README pulls for the machine it runs on, so the fixture is published for that arch.
    let void = t.publish_for(
        banger_catalog::host_arch(),
        "void",
        "void-6.12",
        "6.12.3",
        &server,
    );
    t.write_catalog(&[&void.entry]);
    let work = t.path("work");
    fs::create_dir(&work).unwrap();
    fs::write(work.join("void.ext4"), vec![0u8; 1 << 16]).unwrap();
    t.set_cwd(work);

    for command in &commands {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        t.ok(&args);
    }
    assert!(
        !t.kernels().join("void-6.12").exists(),
        "the last command removes the kernel"
    );
}
