//! Least privilege, proved: each function's IAM grants in template.yaml (as SAM translates them) against the AWS
//! operations that function's code can call, in both directions: a grant no code needs fails, and so does an
//! operation no grant allows.
//!
//! What a function can call is read from the code, not from a list kept beside the template:
//! 1. The SDK operations: every fluent call `.<operation>(` in the adapter sources (`shared/src/aws/*.rs`) whose name
//!    is an operation of an `aws_sdk_*` crate that file uses. The operation names come from the SDK crates
//!    themselves (`src/operation/<name>/`, located with `cargo metadata`).
//! 2. Which of them a function reaches: a call graph over the shared crate's functions by name, from the function's
//!    `main.rs`. `Type::f(` reaches `f` in `impl Type` (type aliases followed), `module::f(` and a bare `f(` the free
//!    function, `.f(` every method named `f` (trait dispatch is not resolved, so this over-reaches). The over-reach
//!    is cut by the adapters a function constructs: an adapter's operations count only when a reached body names
//!    its type in a path call (`crate::aws::SnsNotifier::new(`), i.e. when the function builds that adapter.
//! 3. SDK operation -> IAM action: the service's prefix and the operation in PascalCase, with the exceptions AWS
//!    documents (`EXCEPTIONS`). Actions AWS checks on the caller for another action (KMS behind an encrypted topic
//!    or secret, Glue and S3 behind an Athena query) are allowed only beside the action that needs them (`IMPLIED`).
//!
//! Grants from AWS managed policies (logs, the SQS poller) are the runtime's, not the code's, and are not compared.
//! `LEAST_PRIVILEGE_TRACE=<function>` prints every function body the analysis reaches from that function's main.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

// ---------------------------------------------------------------------------------------------------------------
// The rules of the mapping: SDK crate -> IAM prefix, the operations whose action is not their own name, and the
// actions that come with another.

/// `aws_sdk_<crate>` -> the IAM service prefix.
const PREFIXES: &[(&str, &str)] = &[
    ("athena", "athena"),
    ("cloudtrail", "cloudtrail"),
    ("dynamodb", "dynamodb"),
    ("iam", "iam"),
    ("identitystore", "identitystore"),
    ("organizations", "organizations"),
    ("s3", "s3"),
    ("secretsmanager", "secretsmanager"),
    ("sns", "sns"),
    ("sqs", "sqs"),
    // sso-admin's actions are `sso:` (ListAccountsForProvisionedPermissionSet = sso:...).
    ("ssoadmin", "sso"),
    ("sts", "sts"),
];

/// (crate, operation) -> the IAM actions it needs, where that is not prefix:PascalCase. Empty: no permission.
const EXCEPTIONS: &[(&str, &str, &[&str])] = &[
    // ListObjectsV2 is authorized by s3:ListBucket.
    ("s3", "list_objects_v2", &["s3:ListBucket"]),
    // The batch APIs are authorized by the single-message actions.
    ("sns", "publish_batch", &["sns:Publish"]),
    ("sqs", "send_message_batch", &["sqs:SendMessage"]),
    // GetCallerIdentity needs no permission (and cannot be denied).
    ("sts", "get_caller_identity", &[]),
];

/// Builder calls that make an operation need one more action: (crate, builder method, action).
const BUILDER_ACTIONS: &[(&str, &str, &str)] = &[
    // PutObject with a retention mode and date needs s3:PutObjectRetention too.
    ("s3", "object_lock_mode", "s3:PutObjectRetention"),
];

/// Credential providers of aws-config that call AWS themselves: (type, action).
const PROVIDER_ACTIONS: &[(&str, &str)] = &[("AssumeRoleProvider", "sts:AssumeRole")];

/// Actions AWS checks on the caller when it performs another one: allowed (not required: they depend on how the
/// stack is configured) only in a function that needs the action on the left.
const IMPLIED: &[(&str, &[&str])] = &[
    // Publishing to a topic encrypted with a customer managed key (TopicKey).
    ("sns:Publish", &["kms:GenerateDataKey", "kms:Decrypt"]),
    // Reading a secret encrypted with a customer managed key (SecretsKmsKeyArn).
    ("secretsmanager:GetSecretValue", &["kms:Decrypt"]),
    // Athena reads the table's metadata in Glue, the trail's log files and writes its results as the caller.
    (
        "athena:StartQueryExecution",
        &[
            "glue:GetDatabase",
            "glue:GetTable",
            "s3:GetObject",
            "s3:ListBucket",
            "s3:GetBucketLocation",
            "s3:PutObject",
            "s3:AbortMultipartUpload",
            "kms:Decrypt",
        ],
    ),
];

/// Actions for which the Service Authorization Reference lists no resource type: the only ones allowed on `*`.
const NO_RESOURCE_TYPE: &[&str] = &[
    "sso:ListInstances",
    "organizations:ListAccounts",
    "cloudtrail:LookupEvents",
    "iam:ListSAMLProviders",
];

// ---------------------------------------------------------------------------------------------------------------
// The code side.

fn root() -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests.parent().unwrap_or(tests).to_path_buf()
}

/// The operations of each `aws_sdk_*` crate the lock file resolves, from the crates' `src/operation/` folders.
fn sdk_operations() -> HashMap<String, BTreeSet<String>> {
    // Resolved for this machine only: other platforms' crates may not be downloaded.
    let rustc = Command::new("rustc").arg("-vV").output().expect("run rustc -vV");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host");
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--locked",
            "--filter-platform",
            &host,
        ])
        .current_dir(root())
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata JSON");
    let mut operations = HashMap::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().unwrap_or_default();
        let Some(service) = name.strip_prefix("aws-sdk-") else {
            continue;
        };
        let manifest = PathBuf::from(package["manifest_path"].as_str().expect("manifest_path"));
        let folder = manifest.parent().expect("crate folder").join("src/operation");
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        let names: BTreeSet<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        operations.insert(service.replace('-', ""), names);
    }
    assert!(
        operations.contains_key("ssoadmin"),
        "no aws-sdk-ssoadmin operations found"
    );
    operations
}

/// Source text with comments, string and char literals blanked (same length, so positions stay meaningful).
fn blank_literals(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in out.iter_mut().take(to.min(b.len())).skip(from) {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = src[i..].find('\n').map_or(b.len(), |n| i + n);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = src[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
                blank(&mut out, i, end);
                i = end;
            }
            b'r' if matches!(b.get(i + 1), Some(b'#') | Some(b'"')) && (i == 0 || !is_ident(b[i - 1])) => {
                let hashes = b[i + 1..].iter().take_while(|c| **c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let start = i + 2 + hashes;
                let end = src[start..].find(&close).map_or(b.len(), |n| start + n + close.len());
                blank(&mut out, i, end);
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                blank(&mut out, i, j + 1);
                i = j + 1;
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{..}'); otherwise a lifetime, left alone.
                let end = if b.get(i + 1) == Some(&b'\\') {
                    src[i + 2..].find('\'').map(|n| i + 2 + n + 1)
                } else {
                    let width = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                    (b.get(i + 1 + width) == Some(&b'\'')).then_some(i + 2 + width)
                };
                match end {
                    Some(end) => {
                        blank(&mut out, i, end);
                        i = end;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).expect("blanking keeps UTF-8 (only ASCII is replaced, whole characters)")
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The index just past the brace that closes the one at `open`.
fn matching_brace(b: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, c) in b.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
    }
    b.len()
}

/// The end of the item starting at `from`: past its `{...}` body, or its `;`, whichever comes first at depth 0.
fn item_end(b: &[u8], from: usize) -> (usize, Option<usize>) {
    let mut depth = 0i32;
    for (k, c) in b.iter().enumerate().skip(from) {
        match c {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b';' if depth == 0 => return (k + 1, None),
            b'{' if depth == 0 => return (matching_brace(b, k), Some(k)),
            _ => {}
        }
    }
    (b.len(), None)
}

/// Blanks every item behind `#[cfg(test)]`: tests call things production code never does.
fn without_tests(src: String) -> String {
    let mut out = src.into_bytes();
    let marker = b"#[cfg(test)]";
    let mut at = 0;
    while let Some(n) = out[at..].windows(marker.len()).position(|w| w == marker) {
        let start = at + n;
        let (end, _) = item_end(&out, start + marker.len());
        for c in &mut out[start..end] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
        at = end;
    }
    String::from_utf8(out).expect("ASCII blanks keep UTF-8")
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    /// `.name(`
    Method(String),
    /// `Qualifier::name(`, the qualifier's last segment.
    Path(String, String),
    /// `name(`
    Bare(String),
}

#[derive(Debug)]
struct FnItem {
    file: String,
    name: String,
    impl_type: Option<String>,
    calls: BTreeSet<Call>,
    /// Every `.ident(` in the body, for SDK operations and builder calls.
    methods: BTreeSet<String>,
    /// Types the body builds: `Type::f(` path calls and `Type {` struct literals (`Self` resolved).
    builds: BTreeSet<String>,
}

const KEYWORDS: &[&str] = &[
    "if", "while", "for", "match", "return", "loop", "fn", "in", "as", "move", "Some", "Ok", "Err",
];

fn calls_in(body: &str) -> (BTreeSet<Call>, BTreeSet<String>) {
    let b = body.as_bytes();
    let (mut calls, mut methods) = (BTreeSet::new(), BTreeSet::new());
    let mut i = 0;
    while i < b.len() {
        if !(b[i].is_ascii_alphabetic() || b[i] == b'_') || (i > 0 && is_ident(b[i - 1])) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
        let name = &body[start..i];
        // A turbofish between the name and its arguments.
        let mut j = i;
        if body[j..].starts_with("::<") {
            let mut depth = 0;
            for (k, c) in b.iter().enumerate().skip(j + 2) {
                match c {
                    b'<' => depth += 1,
                    b'>' => {
                        depth -= 1;
                        if depth == 0 {
                            j = k + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        if b.get(j) != Some(&b'(') || KEYWORDS.contains(&name) {
            continue;
        }
        let before = body[..start].trim_end();
        let call = if before.ends_with('.') {
            methods.insert(name.to_owned());
            Call::Method(name.to_owned())
        } else if let Some(prefix) = before.strip_suffix("::") {
            let prefix = prefix.trim_end();
            let qualifier: String = prefix
                .bytes()
                .rev()
                .take_while(|c| is_ident(*c))
                .map(char::from)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            // `Type::<T>::f(` or `<X as Trait>::f(`: not worth resolving.
            if qualifier.is_empty() {
                continue;
            }
            Call::Path(qualifier, name.to_owned())
        } else {
            Call::Bare(name.to_owned())
        };
        calls.insert(call);
    }
    (calls, methods)
}

/// The names a `use` tree brings in, each with the module it comes from: `a::b::{X, c::Y}` -> (X, b), (Y, c).
fn expand_use(tree: &str, parent: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(open) = tree.find('{') {
        let prefix = tree[..open].trim_end_matches("::");
        let module = prefix.rsplit("::").next().unwrap_or(parent).to_owned();
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        // Split on top-level commas.
        let (mut depth, mut start) = (0, 0);
        for (k, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.extend(expand_use(&inner[start..k], &module));
                    start = k + 1;
                }
                _ => {}
            }
        }
        out.extend(expand_use(&inner[start..], &module));
    } else if !tree.is_empty() {
        let tree = tree.split(" as ").next().unwrap_or(tree);
        let (module, name) = tree.rsplit_once("::").unwrap_or((parent, tree));
        let module = module.rsplit("::").next().unwrap_or(module);
        out.push((name.to_owned(), module.to_owned()));
    }
    out
}

/// `Type {` in a body: a struct literal (a capitalised name before a brace).
fn struct_literals(body: &str) -> BTreeSet<String> {
    let b = body.as_bytes();
    let mut out = BTreeSet::new();
    for (k, _) in body.match_indices('{') {
        let before = body[..k].trim_end();
        let name: String = before
            .bytes()
            .rev()
            .take_while(|c| is_ident(*c))
            .map(char::from)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let start = before.len() - name.len();
        if name.starts_with(|c: char| c.is_ascii_uppercase()) && (start == 0 || !is_ident(b[start - 1])) {
            out.insert(name);
        }
    }
    out
}

/// The type an `impl` header implements for: `impl<T> Trait for Type<T>` -> `Type`, `impl Type` -> `Type`.
fn impl_type(header: &str) -> Option<String> {
    let header = header.trim();
    let mut rest = header;
    if rest.starts_with('<') {
        let mut depth = 0;
        for (k, c) in rest.char_indices() {
            match c {
                '<' => depth += 1,
                '>' => {
                    depth -= 1;
                    if depth == 0 {
                        rest = &rest[k + 1..];
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    let rest = rest.split(" where ").next().unwrap_or(rest);
    let target = rest.rsplit_once(" for ").map_or(rest, |(_, t)| t).trim();
    let path = target.split('<').next().unwrap_or(target).trim();
    let last = path.rsplit("::").next().unwrap_or(path).trim_start_matches('&');
    (!last.is_empty()).then(|| last.to_owned())
}

struct SourceFile {
    /// Path from the repository root.
    path: String,
    /// The file's module name: its stem (`mod.rs`: its folder).
    module: String,
    text: String,
}

fn read_sources(folder: &Path, out: &mut Vec<SourceFile>) {
    let mut entries: Vec<_> = std::fs::read_dir(folder)
        .expect("read source folder")
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            read_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("read source");
            let stem = path.file_stem().expect("stem").to_string_lossy().into_owned();
            let module = if stem == "mod" || stem == "lib" || stem == "main" {
                path.parent()
                    .and_then(|p| p.file_name())
                    .map_or(stem, |n| n.to_string_lossy().into_owned())
            } else {
                stem
            };
            let relative = path
                .strip_prefix(root())
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            out.push(SourceFile {
                path: relative,
                module,
                text: without_tests(blank_literals(&text)),
            });
        }
    }
}

/// The functions of a file, each with the type of the `impl` block it sits in; and the file's type aliases.
fn items_of(file: &SourceFile, aliases: &mut HashMap<String, BTreeSet<String>>) -> Vec<FnItem> {
    let text = &file.text;
    let b = text.as_bytes();
    // impl blocks: `impl` at item level (after `}`, `;`, `{`, `]` or the file's start).
    let mut blocks: Vec<(usize, usize, Option<String>)> = Vec::new();
    let mut words = Vec::new();
    for (k, _) in text.match_indices("impl") {
        let word_ok = (k == 0 || !is_ident(b[k - 1])) && b.get(k + 4).is_some_and(|c| !is_ident(*c));
        if word_ok {
            words.push(k);
        }
    }
    for k in words {
        let before = text[..k].trim_end();
        let before = before.strip_suffix("unsafe").map_or(before, str::trim_end);
        if !(before.is_empty() || before.ends_with(['}', ';', '{', ']'])) {
            continue;
        }
        let (end, open) = item_end(b, k + 4);
        if let Some(open) = open {
            blocks.push((open, end, impl_type(&text[k + 4..open])));
        }
    }
    for (k, _) in text.match_indices("type ") {
        if k > 0 && is_ident(b[k - 1]) {
            continue;
        }
        let rest = &text[k + 5..];
        let Some((name, target)) = rest.split_once('=') else {
            continue;
        };
        let name = name.split('<').next().unwrap_or(name).trim();
        if name.is_empty() || !name.bytes().all(is_ident) || target.find(';').is_none() {
            continue;
        }
        let target = target.split(';').next().unwrap_or(target);
        if let Some(t) = impl_type(target) {
            aliases.entry(name.to_owned()).or_default().insert(t);
        }
    }
    let mut items = Vec::new();
    for (k, _) in text.match_indices("fn ") {
        if k > 0 && is_ident(b[k - 1]) {
            continue;
        }
        let name: String = text[k + 3..]
            .trim_start()
            .bytes()
            .take_while(|c| is_ident(*c))
            .map(char::from)
            .collect();
        if name.is_empty() {
            continue;
        }
        let (end, open) = item_end(b, k + 3);
        let Some(open) = open else { continue };
        let impl_type = blocks
            .iter()
            .filter(|(s, e, _)| *s < k && k < *e)
            .max_by_key(|(s, _, _)| *s)
            .and_then(|(_, _, t)| t.clone());
        let body = &text[open..end];
        let (calls, methods) = calls_in(body);
        let mut builds: BTreeSet<String> = calls
            .iter()
            .filter_map(|c| match c {
                Call::Path(q, _) if q.starts_with(|c: char| c.is_ascii_uppercase()) => Some(q.clone()),
                _ => None,
            })
            .collect();
        builds.extend(struct_literals(body));
        if builds.remove("Self") {
            builds.extend(impl_type.clone());
        }
        items.push(FnItem {
            file: file.path.clone(),
            name,
            impl_type,
            calls,
            methods,
            builds,
        });
    }
    items
}

struct Code {
    items: Vec<FnItem>,
    /// (file, imported name) -> the module it is imported from (`use a::b::{X}`: X -> b).
    imports: HashMap<(String, String), String>,
    /// (file, fn) declared or defaulted inside a `trait` block.
    trait_fns: BTreeSet<(String, String)>,
    modules: HashMap<String, String>,
    aliases: HashMap<String, BTreeSet<String>>,
    /// Adapter file -> the types it defines, and the SDK crates it uses.
    adapters: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>,
    operations: HashMap<String, BTreeSet<String>>,
}

fn load_code() -> Code {
    let mut files = Vec::new();
    read_sources(&root().join("shared/src"), &mut files);
    read_sources(&root().join("functions"), &mut files);
    let mut aliases = HashMap::new();
    let mut items = Vec::new();
    let mut modules = HashMap::new();
    let mut adapters = BTreeMap::new();
    for file in &files {
        modules.insert(file.path.clone(), file.module.clone());
        items.extend(items_of(file, &mut aliases));
        if file.path.starts_with("shared/src/aws/") {
            let types: BTreeSet<String> = file
                .text
                .match_indices("struct ")
                .map(|(k, _)| {
                    file.text[k + 7..]
                        .bytes()
                        .take_while(|c| is_ident(*c))
                        .map(char::from)
                        .collect()
                })
                .filter(|t: &String| !t.is_empty())
                .collect();
            let crates: BTreeSet<String> = file
                .text
                .match_indices("aws_sdk_")
                .map(|(k, _)| {
                    file.text[k + 8..]
                        .bytes()
                        .take_while(|c| is_ident(*c))
                        .map(char::from)
                        .collect()
                })
                .collect();
            adapters.insert(file.path.clone(), (types, crates));
        }
    }
    let mut imports = HashMap::new();
    for file in &files {
        for (k, _) in file.text.match_indices("use ") {
            if k > 0 && is_ident(file.text.as_bytes()[k - 1]) {
                continue;
            }
            let Some(end) = file.text[k..].find(';') else { continue };
            let tree: String = file.text[k + 4..k + end].split_whitespace().collect();
            for (name, module) in expand_use(&tree, "") {
                imports.insert((file.path.clone(), name), module);
            }
        }
    }
    let mut trait_fns = BTreeSet::new();
    for file in &files {
        let b = file.text.as_bytes();
        for (k, _) in file.text.match_indices("trait ") {
            if k > 0 && is_ident(b[k - 1]) {
                continue;
            }
            let (end, Some(open)) = item_end(b, k) else { continue };
            for (n, _) in file.text[open..end].match_indices("fn ") {
                let name: String = file.text[open + n + 3..]
                    .bytes()
                    .take_while(|c| is_ident(*c))
                    .map(char::from)
                    .collect();
                trait_fns.insert((file.path.clone(), name));
            }
        }
    }
    Code {
        items,
        imports,
        trait_fns,
        modules,
        aliases,
        adapters,
        operations: sdk_operations(),
    }
}

impl Code {
    fn resolve(&self, from: &FnItem, call: &Call, built: &BTreeSet<String>) -> Vec<usize> {
        let matching = |pred: &dyn Fn(&FnItem) -> bool| -> Vec<usize> {
            self.items
                .iter()
                .enumerate()
                .filter(|(_, f)| pred(f))
                .map(|(i, _)| i)
                .collect()
        };
        match call {
            // A method of a type this function builds, or a trait's default method (no impl type).
            Call::Method(name) => matching(&|f| {
                &f.name == name
                    && f.impl_type.as_ref().is_none_or(|t| self.is_built(t, built))
                    && (f.impl_type.is_some() || self.in_trait(f))
            }),
            Call::Path(qualifier, name) => {
                let qualifier = if qualifier == "Self" {
                    from.impl_type.clone().unwrap_or_default()
                } else {
                    qualifier.clone()
                };
                let mut types: BTreeSet<String> = BTreeSet::from([qualifier.clone()]);
                types.extend(self.aliases.get(&qualifier).cloned().unwrap_or_default());
                // Imported by name (`use shared::handlers::access_review::ProductionPorts`): from that module only.
                let from_module = self.imports.get(&(from.file.clone(), qualifier.clone()));
                let by_type = matching(&|f| {
                    &f.name == name
                        && from_module.is_none_or(|m| self.modules.get(&f.file) == Some(m))
                        && f.impl_type.as_ref().is_some_and(|t| {
                            types.contains(t) || self.aliases.get(t).is_some_and(|a| a.contains(&qualifier))
                        })
                });
                if !by_type.is_empty() {
                    return by_type;
                }
                let in_module = matching(&|f| {
                    &f.name == name && f.impl_type.is_none() && self.modules.get(&f.file) == Some(&qualifier)
                });
                if !in_module.is_empty() || qualifier.starts_with(|c: char| c.is_ascii_uppercase()) {
                    return in_module;
                }
                // A re-export (`crate::aws::secret_string`): the free function of that name anywhere.
                matching(&|f| &f.name == name && f.impl_type.is_none() && !self.in_trait(f))
            }
            Call::Bare(name) => {
                let local = matching(&|f| &f.name == name && f.impl_type.is_none() && f.file == from.file);
                if !local.is_empty() {
                    return local;
                }
                matching(&|f| &f.name == name && f.impl_type.is_none() && !self.in_trait(f))
            }
        }
    }

    /// A type built, directly or through an alias either way.
    fn is_built(&self, t: &str, built: &BTreeSet<String>) -> bool {
        built.contains(t)
            || self.aliases.get(t).is_some_and(|a| a.iter().any(|x| built.contains(x)))
            || built.iter().any(|b| self.aliases.get(b).is_some_and(|a| a.contains(t)))
    }

    fn in_trait(&self, f: &FnItem) -> bool {
        self.trait_fns.contains(&(f.file.clone(), f.name.clone()))
    }

    /// The IAM actions the function whose `main.rs` is `main` can need, each with the functions that need it.
    fn needed_actions(&self, main: &str) -> BTreeMap<String, BTreeSet<String>> {
        let entry: Vec<usize> = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, f)| f.file == main && f.name == "main")
            .map(|(i, _)| i)
            .collect();
        assert!(!entry.is_empty(), "{main} has no fn main");
        // What is reached depends on what is built and the other way round: grow both until neither changes.
        let mut built = BTreeSet::new();
        let mut seen = BTreeSet::new();
        loop {
            seen.clear();
            let mut todo = entry.clone();
            while let Some(i) = todo.pop() {
                if !seen.insert(i) {
                    continue;
                }
                for call in &self.items[i].calls {
                    todo.extend(self.resolve(&self.items[i], call, &built));
                }
            }
            let now: BTreeSet<String> = seen
                .iter()
                .flat_map(|i| self.items[*i].builds.iter().cloned())
                .collect();
            if now == built {
                break;
            }
            built = now;
        }
        if std::env::var("LEAST_PRIVILEGE_TRACE").is_ok_and(|v| main.contains(&v)) {
            for i in &seen {
                let f = &self.items[*i];
                eprintln!("REACHED {} {:?}::{} builds {:?}", f.file, f.impl_type, f.name, f.builds);
            }
        }
        let mut actions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for i in &seen {
            let item = &self.items[*i];
            let Some((types, crates)) = self.adapters.get(&item.file) else {
                continue;
            };
            // An adapter's method counts when this function builds the adapter; a free function when reached.
            if item
                .impl_type
                .as_ref()
                .is_some_and(|t| types.contains(t) && !self.is_built(t, &built))
            {
                continue;
            }
            let via = format!("{} fn {}", item.file, item.name);
            let mut add = |action: String| {
                actions.entry(action).or_default().insert(via.clone());
            };
            for krate in crates {
                let Some(operations) = self.operations.get(krate) else {
                    continue;
                };
                let prefix = PREFIXES
                    .iter()
                    .find(|(c, _)| c == krate)
                    .map(|(_, p)| *p)
                    .unwrap_or_else(|| panic!("{}: aws_sdk_{krate} has no IAM prefix in PREFIXES", item.file));
                for method in item.methods.iter().filter(|m| operations.contains(*m)) {
                    match EXCEPTIONS.iter().find(|(c, op, _)| c == krate && op == method) {
                        Some((_, _, mapped)) => mapped.iter().for_each(|a| add(a.to_string())),
                        None => add(format!("{prefix}:{}", pascal(method))),
                    }
                }
                for (_, builder, action) in BUILDER_ACTIONS.iter().filter(|(c, _, _)| c == krate) {
                    if item.methods.contains(*builder) {
                        add(action.to_string());
                    }
                }
            }
            for (provider, action) in PROVIDER_ACTIONS {
                if item
                    .calls
                    .iter()
                    .any(|c| matches!(c, Call::Path(q, _) if q == provider))
                {
                    add(action.to_string());
                }
            }
        }
        actions
    }
}

fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map_or(String::new(), |c| c.to_ascii_uppercase().to_string() + chars.as_str())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// The template side.

/// The template as CloudFormation after SAM translation (scripts/check_template.py --translated).
fn translated(template: &Path) -> Value {
    let output = Command::new(integration_tests::moto::python())
        .arg(root().join("scripts/check_template.py"))
        .arg("--translated")
        .arg(template)
        .output()
        .expect("run scripts/check_template.py");
    assert!(
        output.status.success(),
        "SAM translation failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("translated template JSON")
}

/// A plain CloudFormation template as JSON, its short-form tags expanded (scripts/check_template.py --decoded).
fn decoded(template: &Path) -> Value {
    let output = Command::new(integration_tests::moto::python())
        .arg(root().join("scripts/check_template.py"))
        .arg("--decoded")
        .arg(template)
        .output()
        .expect("run scripts/check_template.py");
    assert!(
        output.status.success(),
        "decoding failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("decoded template JSON")
}

/// Every Allow statement in a policy document, both branches of each Fn::If.
fn statements(document: &Value, out: &mut Vec<Value>) {
    match document {
        Value::Object(map) if map.contains_key("Fn::If") => {
            if let Some(branches) = map["Fn::If"].as_array() {
                for branch in branches.iter().skip(1) {
                    statements(branch, out);
                }
            }
        }
        Value::Object(map) if map.contains_key("Effect") => out.push(document.clone()),
        Value::Object(map) => {
            if let Some(s) = map.get("Statement") {
                statements(s, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| statements(i, out)),
        _ => {}
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        _ => vec![],
    }
}

/// Per function binary: its role's Allow statements (inline policies and AWS::IAM::Policy resources on the role).
fn grants(template: &Value) -> BTreeMap<String, Vec<Value>> {
    let resources = template["Resources"].as_object().expect("Resources");
    let mut out = BTreeMap::new();
    for resource in resources.values().filter(|r| r["Type"] == "AWS::Lambda::Function") {
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("a function without a Binary");
        let role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
            .as_str()
            .expect("a function without its own role");
        let mut found = Vec::new();
        for policy in resources[role]["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            statements(&policy["PolicyDocument"], &mut found);
        }
        for policy in resources.values().filter(|r| r["Type"] == "AWS::IAM::Policy") {
            let on_role = policy["Properties"]["Roles"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| r["Ref"] == role);
            if on_role {
                statements(&policy["Properties"]["PolicyDocument"], &mut found);
            }
        }
        found.retain(|s| s["Effect"] == "Allow");
        out.insert(binary.to_owned(), found);
    }
    out
}

/// IAM's wildcard match, case-insensitive: `*` is any run of characters, `?` one.
fn glob(pattern: &str, action: &str) -> bool {
    fn matches(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => matches(&p[1..], a) || (!a.is_empty() && matches(p, &a[1..])),
            (Some(b'?'), Some(_)) => matches(&p[1..], &a[1..]),
            (Some(x), Some(y)) => x.eq_ignore_ascii_case(y) && matches(&p[1..], &a[1..]),
            _ => false,
        }
    }
    matches(pattern.as_bytes(), action.as_bytes())
}

/// The problems of one function: needed actions no grant allows, grants nothing needs, `*` on an action that has a
/// resource type.
fn judge(function: &str, needed: &BTreeMap<String, BTreeSet<String>>, granted: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    let granted_actions: BTreeSet<String> = granted.iter().flat_map(|s| strings(&s["Action"])).collect();
    for (action, via) in needed {
        if !granted_actions.iter().any(|g| glob(g, action)) {
            let via: Vec<&str> = via.iter().map(String::as_str).collect();
            problems.push(format!(
                "{function}: missing grant {action} (called in {})",
                via.join(", ")
            ));
        }
    }
    let allowed: BTreeSet<String> = needed
        .keys()
        .cloned()
        .chain(
            IMPLIED
                .iter()
                .filter(|(by, _)| needed.contains_key(*by))
                .flat_map(|(_, a)| a.iter().map(|s| s.to_string())),
        )
        .collect();
    for grant in &granted_actions {
        if !allowed.iter().any(|a| glob(grant, a)) {
            problems.push(format!(
                "{function}: unused grant {grant} (no code of this function calls it)"
            ));
        }
    }
    for statement in granted {
        if strings(&statement["Resource"]).iter().any(|r| r == "*") {
            for action in strings(&statement["Action"]) {
                if !NO_RESOURCE_TYPE.contains(&action.as_str()) {
                    problems.push(format!(
                        "{function}: {action} on Resource \"*\", but it has a resource type"
                    ));
                }
            }
        }
    }
    problems
}

/// Every function of functions/ against its grants in `template`.
fn check(code: &Code, template: &Path) -> Vec<String> {
    let by_binary = grants(&translated(template));
    let mut problems = Vec::new();
    let mut functions: Vec<String> = std::fs::read_dir(root().join("functions"))
        .expect("functions/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    functions.sort();
    for function in &functions {
        let Some(granted) = by_binary.get(function) else {
            problems.push(format!("{function}: not in the template"));
            continue;
        };
        let needed = code.needed_actions(&format!("functions/{function}/src/main.rs"));
        problems.extend(judge(function, &needed, granted));
    }
    for binary in by_binary.keys().filter(|b| !functions.contains(b)) {
        problems.push(format!("{binary}: in the template, but there is no functions/{binary}"));
    }
    problems
}

/// A copy of the template (beside the files it names) with `old` replaced by `new`.
fn modified_template(name: &str, old: &str, new: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    assert_eq!(
        text.matches(old).count(),
        1,
        "the text to change must occur once in template.yaml: {old}"
    );
    let folder = std::env::temp_dir().join(format!("deprov-least-privilege-{name}-{}", std::process::id()));
    std::fs::create_dir_all(folder.join("statemachine")).expect("temp folder");
    for entry in std::fs::read_dir(root().join("statemachine"))
        .expect("statemachine/")
        .flatten()
    {
        std::fs::copy(entry.path(), folder.join("statemachine").join(entry.file_name())).expect("copy definition");
    }
    let path = folder.join("template.yaml");
    std::fs::write(&path, text.replacen(old, new, 1)).expect("write the modified template");
    path
}

#[test]
fn every_function_is_granted_exactly_what_its_code_calls() {
    let code = load_code();
    let problems = check(&code, &root().join("template.yaml"));
    assert!(problems.is_empty(), "least privilege broken:\n{}", problems.join("\n"));
}

#[test]
fn the_reach_from_each_main_finds_the_adapters_it_builds() {
    // Guards the analysis itself: a parser that found nothing would pass the comparison with an empty template.
    let code = load_code();
    let hook: BTreeSet<String> = code
        .needed_actions("functions/okta-hook/src/main.rs")
        .into_keys()
        .collect();
    assert_eq!(
        hook,
        BTreeSet::from(["secretsmanager:GetSecretValue".to_owned(), "sqs:SendMessage".to_owned()])
    );
    let check = code.needed_actions("functions/propagation-check/src/main.rs");
    for action in [
        "identitystore:DescribeUser",
        "dynamodb:UpdateItem",
        "sns:Publish",
        "cloudtrail:LookupEvents",
    ] {
        assert!(
            check.contains_key(action),
            "propagation-check should need {action}: {check:?}"
        );
    }
    // The CLI's revoke (PermissionSetEditor) writes; no function reaches it.
    for function in [
        "access-review",
        "propagation-check",
        "identity-center-watch",
        "cert-monitor",
        "okta-hook",
    ] {
        let actions = code.needed_actions(&format!("functions/{function}/src/main.rs"));
        assert!(
            !actions.contains_key("sso:ProvisionPermissionSet"),
            "{function} reaches a write: {actions:?}"
        );
    }
}

#[test]
fn an_extra_grant_fails_the_check() {
    let code = load_code();
    let template = modified_template(
        "extra",
        "Action: [sso:ListPermissionSets, sso:DescribePermissionSet]",
        "Action: [sso:ListPermissionSets, sso:DescribePermissionSet, sso:CreateAccountAssignment]",
    );
    let problems = check(&code, &template);
    assert_eq!(
        problems,
        vec!["identity-center-watch: unused grant sso:CreateAccountAssignment (no code of this function calls it)"]
    );
}

#[test]
fn a_missing_grant_fails_the_check() {
    let code = load_code();
    let template = modified_template(
        "missing",
        "Action: [dynamodb:GetItem, dynamodb:Query]",
        "Action: [dynamodb:GetItem]",
    );
    let problems = check(&code, &template);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with(
            "propagation-check: missing grant dynamodb:Query (called in shared/src/aws/activity_record.rs"
        ),
        "{problems:?}"
    );
}

/// The member-account roles (StackSet templates): each trusts only the deploy account's role of the one function
/// that assumes it, and grants only read actions that function's code calls.
fn member_role_problems(code: &Code, path: &Path) -> Vec<String> {
    let template = decoded(path);
    let file = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let stack = translated(&root().join("template.yaml"));
    let functions = stack["Resources"].as_object().expect("Resources");
    let mut problems = Vec::new();
    let roles: Vec<(&String, &Value)> = template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::Role")
        .collect();
    if roles.is_empty() {
        problems.push(format!("{file}: no role"));
    }
    for (name, role) in roles {
        let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"];
        let trust = trust.as_array().cloned().unwrap_or_default();
        if trust.len() != 1 {
            problems.push(format!("{file} {name}: {} trust statements, want one", trust.len()));
            continue;
        }
        let statement = &trust[0];
        let principal = &statement["Principal"];
        let root_of_deploy = serde_json::json!({"Fn::Sub": "arn:${AWS::Partition}:iam::${DeployAccountId}:root"});
        if principal.as_object().is_none_or(|p| p.len() != 1) || principal["AWS"] != root_of_deploy {
            problems.push(format!(
                "{file} {name}: trusts {principal}, want the deploy account alone"
            ));
        }
        if statement["Action"] != "sts:AssumeRole" || statement["Effect"] != "Allow" {
            problems.push(format!(
                "{file} {name}: trust allows {}, want sts:AssumeRole",
                statement["Action"]
            ));
        }
        // The one role of the deploy account that may assume it: <stack>-<Function logical id>Role-*.
        let condition = &statement["Condition"]["ArnLike"]["aws:PrincipalArn"]["Fn::Sub"];
        let pattern = condition.as_str().unwrap_or_default();
        let function = pattern
            .strip_prefix("arn:${AWS::Partition}:iam::${DeployAccountId}:role/${DeployStackName}-")
            .and_then(|rest| rest.strip_suffix("Role-*"));
        let Some(function) = function else {
            problems.push(format!(
                "{file} {name}: trust not limited to one function role of the stack ({pattern:?})"
            ));
            continue;
        };
        let Some(binary) = functions
            .get(function)
            .filter(|f| f["Type"] == "AWS::Lambda::Function")
            .and_then(|f| f["Metadata"]["BuildProperties"]["Binary"].as_str())
        else {
            problems.push(format!(
                "{file} {name}: trusts {function}, which is no function of template.yaml"
            ));
            continue;
        };
        let needed = code.needed_actions(&format!("functions/{binary}/src/main.rs"));
        if !needed.contains_key("sts:AssumeRole") {
            problems.push(format!("{file} {name}: trusts {binary}, whose code assumes no role"));
        }
        let mut granted = Vec::new();
        for policy in role["Properties"]["Policies"].as_array().into_iter().flatten() {
            statements(&policy["PolicyDocument"], &mut granted);
        }
        if granted.is_empty() {
            problems.push(format!("{file} {name}: grants nothing"));
        }
        for statement in &granted {
            for action in strings(&statement["Action"]) {
                let verb = action.split_once(':').map_or("", |(_, v)| v);
                let read_only = ["List", "Get", "Describe", "Lookup"]
                    .iter()
                    .any(|p| verb.starts_with(p));
                if statement["Effect"] != "Allow" || !read_only || action.contains('*') {
                    problems.push(format!("{file} {name}: {action} is not one read action"));
                }
                // IAM action names are case-insensitive (SDK ListSamlProviders is iam:ListSAMLProviders).
                if !needed.keys().any(|n| glob(&action, n)) {
                    problems.push(format!("{file} {name}: {action} is not called by {binary}'s code"));
                }
            }
        }
    }
    problems
}

#[test]
fn member_roles_trust_only_their_function_and_grant_only_its_reads() {
    let code = load_code();
    for file in ["member-read-role.yaml", "member-activity-role.yaml"] {
        let problems = member_role_problems(&code, &root().join(file));
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

#[test]
fn a_member_role_that_writes_or_trusts_more_fails_the_check() {
    let code = load_code();
    let text = std::fs::read_to_string(root().join("member-read-role.yaml")).expect("member-read-role.yaml");
    let folder = std::env::temp_dir().join(format!("deprov-member-role-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("temp folder");
    let write = "Action: [iam:GetSAMLProvider, iam:UpdateSAMLProvider]";
    let wider = r#"Principal:
              AWS: "*""#;
    for (name, old, new, want) in [
        (
            "writes.yaml",
            "Action: iam:GetSAMLProvider",
            write,
            "iam:UpdateSAMLProvider is not one read action",
        ),
        (
            "trusts.yaml",
            "Principal:\n              AWS: !Sub \"arn:${AWS::Partition}:iam::${DeployAccountId}:root\"",
            wider,
            "want the deploy account alone",
        ),
    ] {
        assert_eq!(text.matches(old).count(), 1, "{old}");
        let path = folder.join(name);
        std::fs::write(&path, text.replacen(old, new, 1)).expect("write the modified template");
        let problems = member_role_problems(&code, &path);
        assert!(problems.iter().any(|p| p.contains(want)), "{name}: {problems:?}");
    }
}
