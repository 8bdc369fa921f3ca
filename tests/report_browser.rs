//! The review's HTML page in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`,
//! installed by scripts/test-all), driven over chromedriver's W3C WebDriver HTTP API. It renders (title, tables, no
//! injected markup, no alert), sorts (a click on a header reorders the rows, a second click reverses) and filters
//! (typing hides the rows without the text). Without chromedriver the test fails, naming the install step: a
//! browser check that silently passes would prove nothing.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use shared::review_report::example::{HOSTILE_NAME, example_report};
use shared::review_report::write_to_directory;

/// The W3C WebDriver web element identifier.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const INSTALL_HINT: &str = "install Debian's chromium and chromium-driver (scripts/test-all does: \
                            apt-get install -y chromium chromium-driver), or set DEPROV_CHROMEDRIVER and DEPROV_CHROMIUM";

fn tool(var: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(path.exists(), "{} not found: {INSTALL_HINT}", path.display());
    path
}

struct Browser {
    http: reqwest::Client,
    base: String,
    _driver: tokio::process::Child,
}

impl Browser {
    /// chromedriver on a free port, and one headless Chromium session.
    async fn start() -> Self {
        let driver_path = tool("DEPROV_CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium = tool("DEPROV_CHROMIUM", "/usr/bin/chromium");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = tokio::process::Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{} did not start ({e}): {INSTALL_HINT}", driver_path.display()));
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(answer) = http.get(format!("{base}/status")).send().await
                && let Ok(status) = answer.json::<Value>().await
                && status["value"]["ready"] == json!(true)
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not answer on port {port} within 10 s");
        let mut browser = Self {
            http,
            base,
            _driver: driver,
        };
        let session = browser
            .call(
                "POST",
                "/session",
                json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium.display().to_string(),
                        // Root in a container: no sandbox; no GPU; /dev/shm may be small.
                        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
                    }
                }}}),
            )
            .await;
        let id = session["sessionId"].as_str().expect("a session id").to_owned();
        browser.base = format!("{}/session/{id}", browser.base);
        browser
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(&url),
            "DELETE" => self.http.delete(&url),
            _ => self.http.post(&url).json(&body),
        };
        let answer = request.send().await.expect("chromedriver answers");
        let status = answer.status();
        let value: Value = answer.json().await.expect("WebDriver JSON");
        assert!(status.is_success(), "{method} {path}: {status} {value}");
        value["value"].clone()
    }

    async fn script(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", json!({"script": script, "args": []}))
            .await
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .call("POST", "/element", json!({"using": "css selector", "value": css}))
            .await;
        match found[ELEMENT_KEY].as_str() {
            Some(id) => id.to_owned(),
            None => panic!("no element {css}: {found}"),
        }
    }

    async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.call("POST", &format!("/element/{id}/click"), json!({})).await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.call("POST", &format!("/element/{id}/clear"), json!({})).await;
        if !text.is_empty() {
            self.call("POST", &format!("/element/{id}/value"), json!({"text": text}))
                .await;
        }
    }

    /// The text of column `col` of the rows of `table` the page shows (laid out, not hidden).
    async fn column(&self, table: &str, col: usize) -> Vec<String> {
        let value = self
            .script(&format!(
                "return Array.from(document.querySelectorAll('#{table} tbody tr'))\
                   .filter(function (r) {{ return r.getClientRects().length > 0; }})\
                   .map(function (r) {{ return r.cells[{col}].textContent; }});"
            ))
            .await;
        serde_json::from_value(value).expect("strings")
    }
}

#[tokio::test]
async fn the_html_report_renders_sorts_and_filters_in_headless_chromium() {
    let report = example_report();
    let dir = std::env::temp_dir().join(format!("deprov-browser-{}", std::process::id()));
    let location = write_to_directory(&dir, &report).expect("written");
    let browser = Browser::start().await;
    browser
        .call("POST", "/url", json!({"url": format!("file://{}", location.index)}))
        .await;

    // Renders: the title, every table with its rows, the hostile name as text, nothing injected.
    assert_eq!(
        browser.call("GET", "/title", json!({})).await,
        json!("Access review 2026-q3")
    );
    let users = browser.column("access", 0).await;
    assert_eq!(users.len(), report.access.len());
    assert!(
        users.iter().any(|u| u == HOSTILE_NAME),
        "the name shows as the text it is: {users:?}"
    );
    assert_eq!(
        browser.script("return document.images.length;").await,
        json!(0),
        "no injected <img>"
    );
    assert_eq!(browser.column("findings", 0).await.len(), report.findings.len());
    assert_eq!(browser.column("deprovisions", 0).await.len(), report.deprovisions.len());
    let alert = browser
        .http
        .get(format!("{}/alert/text", browser.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(alert.status().as_u16(), 404, "no alert was opened");

    // Sorts: severity by its rank (numbers), a second click reverses.
    assert_eq!(
        browser.column("findings", 0).await,
        ["high", "medium", "critical", "medium"],
        "the report's order"
    );
    browser.click("#findings thead th:nth-child(1)").await;
    assert_eq!(
        browser.column("findings", 0).await,
        ["medium", "medium", "high", "critical"]
    );
    browser.click("#findings thead th:nth-child(1)").await;
    assert_eq!(
        browser.column("findings", 0).await,
        ["critical", "high", "medium", "medium"]
    );
    // Text columns sort as text: the user column reorders, and the second click is the exact reverse.
    browser.click("#access thead th:nth-child(1)").await;
    let ascending = browser.column("access", 0).await;
    assert_ne!(ascending, users, "a click on the header reorders the rows");
    let letters: Vec<_> = ascending.iter().filter(|u| !u.starts_with('<')).cloned().collect();
    assert_eq!(
        letters,
        ["ben.bill@example.com", "jane.doe@example.com", "sam.ops@example.com"]
    );
    browser.click("#access thead th:nth-child(1)").await;
    let descending = browser.column("access", 0).await;
    assert_eq!(descending, ascending.iter().rev().cloned().collect::<Vec<_>>());

    // Filters: rows without every typed word are hidden, and the count says how many are shown.
    browser.type_into("#access-filter", "billing").await;
    assert_eq!(browser.column("access", 0).await, ["ben.bill@example.com"]);
    assert_eq!(
        browser
            .script("return document.getElementById('access-shown').textContent;")
            .await,
        json!("1")
    );
    browser.type_into("#access-filter", "production developer").await;
    assert_eq!(browser.column("access", 0).await, ["jane.doe@example.com"]);
    browser.type_into("#findings-filter", "suppressed").await;
    assert_eq!(browser.column("findings", 1).await, ["direct-user-assignment"]);
    browser.type_into("#access-filter", "").await;
    assert_eq!(
        browser.column("access", 0).await.len(),
        report.access.len(),
        "cleared: all shown"
    );

    browser.call("DELETE", "", json!({})).await;
    let _ = std::fs::remove_dir_all(&dir);
}
