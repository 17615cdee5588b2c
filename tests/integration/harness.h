#pragma once
// Test harness for the integration tests: the real sosproxy binary and real SIPp peers on
// loopback. Everything here runs on the test's thread; no helper keeps a thread of its own.
//
// Readiness is always observed (a "sosproxy ready:" line, a bound port), never assumed after a
// fixed sleep, and every wait has a deadline so that a broken proxy fails a test instead of
// hanging it.

#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace sos::itest {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A child process started with posix_spawn, stdout and stderr going to files, stdin from
// /dev/null. The destructor stops it by PID: SIGTERM, then SIGKILL if it is still there after
// a grace period.
class Process {
 public:
  // Standard input is `stdinPath` (by default nothing: no terminal).
  Process(const std::vector<std::string>& argv, const std::filesystem::path& stdoutPath,
          const std::filesystem::path& stderrPath,
          const std::filesystem::path& stdinPath = "/dev/null");
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  const std::filesystem::path& stdoutPath() const { return stdoutPath_; }
  const std::filesystem::path& stderrPath() const { return stderrPath_; }
  // The command line, for failure messages.
  std::string commandLine() const;

  // Waits until the process ends or the deadline passes. Returns the exit code (128 + signal
  // number when killed by a signal), or nullopt on timeout (the process is then still running).
  std::optional<int> wait(milliseconds timeout);
  // Is it still running (not yet reaped)?
  bool running();
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit code as wait() does.
  std::optional<int> stop(milliseconds grace = milliseconds(5000));
  // Sends `signal` (SIGKILL, SIGHUP, ...) to the process by PID and returns at once; follow with
  // wait() to reap it. False when it never started or has already been reaped (its PID may
  // belong to another process by now) or kill(2) failed.
  bool sendSignal(int signal);

 private:
  std::vector<std::string> argv_;
  std::filesystem::path stdoutPath_;
  std::filesystem::path stderrPath_;
  pid_t pid_ = -1;
  std::optional<int> exitCode_;
};

// The sosproxy binary the tests start: $SOS_TEST_SOSPROXY when set, else the one built with
// them. The test command runs the sanitizer build's tests against the ThreadSanitizer binary
// this way: the test program itself gains nothing from being built for ThreadSanitizer.
std::string sosproxyBinary();

// A port that is free for both UDP and TCP on 127.0.0.1 at the time of the call. A port is
// handed out once among all the test programs of this user running at the same time: each
// holds a lock on it until it exits.
uint16_t pickFreePort();

// Is something bound to `port` on 127.0.0.1 (or any address) for UDP or TCP (listening)?
// Reads /proc/net/udp and /proc/net/tcp. With `owner`, only a socket that process holds counts.
bool portBound(uint16_t port, bool tcp, pid_t owner = -1);

// Sleeps one polling interval (20 ms).
void sleepBrief();

// Polls `pred` until it holds or the timeout passes: every 20 ms for the first second, then
// every 100 ms. Many predicates read sosproxy's /metrics, which costs a sanitized sosproxy some
// 5 ms of CPU a time: a test waiting half a minute on one at 20 ms took a quarter of a core.
template <typename Pred>
bool waitFor(Pred pred, milliseconds timeout) {
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  while (true) {
    if (pred()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    if (now - start < milliseconds(1000)) {
      sleepBrief();
    } else {
      std::this_thread::sleep_for(std::min<Clock::duration>(milliseconds(100), deadline - now));
    }
  }
}

std::string readFile(const std::filesystem::path& path);
void writeFile(const std::filesystem::path& path, const std::string& text);

// A fresh directory under the system temp dir, removed in the destructor unless the
// environment variable SOS_KEEP_TEST_DIRS is set (for looking at traces after a failure).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Ports and transports for a configuration like config/examples/demo.yaml.
struct DemoPorts {
  uint16_t proxy = 0;
  uint16_t carrier = 0;
  uint16_t psapA = 0;
  uint16_t psapB = 0;
  uint16_t erc = 0;
  uint16_t uk999 = 0;
  uint16_t admin = 0;                  // admin HTTP (API, health, /metrics)
  uint16_t deviceReports = 0;          // admin.device_listen's port; 0: none
  std::string trunkTransport = "udp";  // of every trunk
  std::string psapAMode = "pidf";      // il-psap-a's mode (a test may make it an ELIN trunk)
  uint16_t securityDesk = 0;           // the sites' security desk (PSAP callbacks, issue 4)
  int callbackWindowSeconds = 0;       // 0: the default window
  // Issue 5: the test destination, and how the PSAP trunks fail over. The demo's 2 s response
  // timeout; a shorter ring timeout than the demo's 8 s keeps the ringing test short.
  uint16_t psapTest = 0;
  std::string responseTimeout = "2";     // response_timeout_s of the PSAP trunks
  std::string ringTimeout = "4";         // ring_timeout_s of the PSAP trunks
  std::string psapATransport;            // il-psap-a's transport; empty: trunkTransport
  bool psapATcpFallback = false;         // il-psap-a takes large requests over TCP (issue 14)
  std::string psapAOptionsInterval;      // options_interval_s of il-psap-a; empty: not probed
  std::string otherPsapOptionsInterval;  // options_interval_s of il-psap-b and the ERC; empty: not
                                         // probed
  std::string extraYaml;  // top-level sections that replace the demo's ("limits: ...")
  // Further changes, each a print-config --set PATH=VALUE, applied last
  // ({"sites[HQ].nomadic", "false"}).
  std::vector<std::pair<std::string, std::string>> sets;
  // Issue 6: HQ's responders (webhook, email, SIP MESSAGE to the security desk; tier 2 email),
  // only when a test asks for them: other tests' SIPp peers would not expect the alerts.
  bool responders = false;
  uint16_t webhook = 0;               // the webhook receiver (http://127.0.0.1:PORT/alerts)
  uint16_t smtp = 0;                  // the SMTP server
  std::string escalateAfter = "120";  // notifications.escalate_after_s
  std::string webhookSecret = "test-webhook-secret";
  // Issue 22: a PostgreSQL URI; when set, a test's store (demoConfigYaml's `storeDb`) is that
  // database instead of the SQLite file (store.backend postgresql, seeded the same way).
  std::string storePostgresql;
};

DemoPorts pickDemoPorts();

// A one-shot HTTP/1.1 request on loopback (Connection: close), enough for the admin API. A JSON
// `body` goes with Content-Type application/json. Status 0 when nothing answered.
struct HttpReply {
  int status = 0;
  std::string body;
  std::string headers;  // the status line and headers, as received
};
// One HTTP/1.1 request to 127.0.0.1:`port`. `headers` are added as given; without a "Host" or
// "Content-Type" among them, "Host: 127.0.0.1" and (for a body) "Content-Type: application/json"
// are sent. The reply's headers are in `headers`, as received.
struct HttpHeader {
  std::string name, value;
};
HttpReply httpRequest(const std::string& method, uint16_t port, const std::string& path,
                      const std::string& body = "", const std::vector<HttpHeader>& headers = {});

// A command run to its end (or killed at the deadline: status nullopt), with what it printed.
struct CommandRun {
  std::optional<int> status;
  std::string out, err;
  std::string commandLine;
};
// `input`, when given, is the command's standard input.
CommandRun runCommand(const std::vector<std::string>& argv, const std::filesystem::path& dir,
                      milliseconds timeout = milliseconds(60000),
                      const std::optional<std::string>& input = std::nullopt);

// Runs `sosproxy token create --config CONFIG ARGS...` and returns the token it printed, or ""
// (with the command's output in `error`) when it failed.
std::string createApiToken(const std::filesystem::path& binary, const std::filesystem::path& config,
                           const std::filesystem::path& dir, const std::vector<std::string>& args,
                           std::string* error = nullptr);

// A UDP port that takes datagrams and never answers: a trunk that has gone silent. Counts what
// it receives (for "the INVITE did get there").
class UdpBlackHole {
 public:
  // On 127.0.0.1, or `address` (another loopback address: a DNS server on 127.53.0.1:53).
  explicit UdpBlackHole(uint16_t port, const std::string& address = "127.0.0.1");
  ~UdpBlackHole();
  UdpBlackHole(const UdpBlackHole&) = delete;
  UdpBlackHole& operator=(const UdpBlackHole&) = delete;
  bool ok() const { return fd_ >= 0; }
  int received() const { return received_.load(); }
  // The first datagram's start line ("INVITE sip:911@... SIP/2.0"), once one came.
  std::string firstLine() const;
  // How many datagrams so far had a start line beginning with `prefix` ("INVITE ", "OPTIONS ").
  int receivedStartingWith(const std::string& prefix) const;
  // The start lines of the first 1000 datagrams, in order.
  std::vector<std::string> startLines() const;

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> received_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> startLines_;  // of the first 1000 datagrams
  std::thread thread_;
};

// A helper script of tests/integration/tools run as `python3 TOOLS_DIR/SCRIPT ARGS...`, its stdout
// and stderr in DIR/NAME.stdout and DIR/NAME.stderr. It is ready once it prints a line "ready".
// The receivers among them append one JSON object per line to an --out file (`outPath`),
// flushed line by line, so that lines() can be read while the script runs. The destructor stops
// it by PID (SIGTERM, then SIGKILL after a grace period).
class PythonTool {
 public:
  PythonTool(std::string script, std::vector<std::string> args, std::filesystem::path dir,
             std::string name, std::filesystem::path outPath = {});
  virtual ~PythonTool();
  PythonTool(const PythonTool&) = delete;
  PythonTool& operator=(const PythonTool&) = delete;

  // Spawns it and waits up to `readyTimeout` for its "ready" line. False (with the reason in
  // lastError()) when it cannot be started, exits first (a port already taken) or never gets
  // ready.
  bool start(milliseconds readyTimeout = milliseconds(10000));
  // SIGTERM, then SIGKILL after `grace`; the exit code as Process::wait() gives it (0: a clean
  // exit). nullopt when it was never started.
  std::optional<int> stop(milliseconds grace = milliseconds(5000));
  bool running();

  // The complete lines (ended by a newline) of the --out file so far, empty ones left out.
  std::vector<std::string> lines() const;
  // Waits until lines() holds at least `count` lines; false on timeout.
  bool waitForLines(size_t count, milliseconds timeout = milliseconds(10000)) const;

  const std::filesystem::path& outPath() const { return outPath_; }
  const std::string& name() const { return name_; }
  Process* process() { return process_ ? &*process_ : nullptr; }
  std::string lastError() const { return lastError_; }
  // Command line, stdout, stderr and the --out file, for failure messages.
  std::string report() const;

 private:
  std::string script_;
  std::vector<std::string> args_;
  std::filesystem::path dir_;
  std::string name_;
  std::filesystem::path outPath_;
  std::optional<Process> process_;
  std::string lastError_;
};

// tools/webhook_receiver.py on 127.0.0.1:`port` (0 picks a free one): records every POST in
// DIR/NAME.jsonl as {"path", "delivery", "signature_ok", "body", "method", "content_type",
// "signature", "status"} ("body" is the JSON body itself, or a string when it is not JSON;
// "signature_ok" says whether X-Sosproxy-Signature is sha256=HMAC-SHA256(secret, body)) and
// answers `status`. With `blackhole` it reads and records requests ("status": null) but never
// answers, keeping the connection open.
// `extra` are further arguments of the script (--tls-cert CERT --tls-key KEY: HTTPS, and each
// line then says "tls": true).
class WebhookReceiver : public PythonTool {
 public:
  WebhookReceiver(std::filesystem::path dir, std::string secret, uint16_t port = 0,
                  int status = 200, bool blackhole = false, std::string name = "webhook",
                  std::vector<std::string> extra = {});
  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT" + path.
  std::string url(const std::string& path = "/alerts") const;

 private:
  WebhookReceiver(std::filesystem::path dir, std::string secret, uint16_t port, int status,
                  bool blackhole, std::string name, std::vector<std::string> extra,
                  int);  // `port` already chosen
  uint16_t port_;
};

// tools/smtp_receiver.py on 127.0.0.1:`port` (0 picks a free one): an SMTP server recording every
// message accepted in DIR/NAME.jsonl as {"from", "to": [...], "data", "helo", "esmtp",
// "bare_lf"} ("data": the message text, dot-stuffing undone, line ends as sent). With `refuse`
// it answers every RCPT TO with 550. `extra` are further arguments of the script (STARTTLS
// offered or required, TLS from the start, AUTH: its --help); each line then also says "tls",
// "auth" (the user authenticated) and "auth_mechanism".
class SmtpReceiver : public PythonTool {
 public:
  SmtpReceiver(std::filesystem::path dir, uint16_t port = 0, bool refuse = false,
               std::string name = "smtp", std::vector<std::string> extra = {});
  uint16_t port() const { return port_; }

 private:
  SmtpReceiver(std::filesystem::path dir, uint16_t port, bool refuse, std::string name,
               std::vector<std::string> extra, int);  // `port` already chosen
  uint16_t port_;
};

// Certificates made by `openssl` for a test (issue 20), in `dir`: a CA, a server certificate
// it signed for localhost and 127.0.0.1, and one it signed for "wrong.example" only. Nothing of
// them is kept in the repository. `error` says what failed (empty: all made).
struct TestCertificates {
  std::filesystem::path ca;     // the CA's certificate (PEM)
  std::filesystem::path caKey;  // and its key (signTestCertificate signs with it)
  std::filesystem::path cert, key;
  std::filesystem::path wrongCert, wrongKey;
  std::string error;
};
TestCertificates makeTestCertificates(const std::filesystem::path& dir);
// Another certificate that CA signs, for `names` ("DNS:psap-a.test"), written to `cert` with its
// key at `key`. Empty when made, else what failed.
std::string signTestCertificate(const TestCertificates& ca, const std::filesystem::path& cert,
                                const std::filesystem::path& key, const std::string& commonName,
                                const std::string& names);

// One HTTPS request by tools/https_client.py, trusting `caFile` only. `until`: the body is read
// only until it holds that text (an open answer). Status 0, and the reason in `body`, when no
// answer came.
HttpReply httpsRequest(const std::string& method, const std::string& url,
                       const std::filesystem::path& caFile, const std::filesystem::path& dir,
                       const std::string& body = "", const std::vector<HttpHeader>& headers = {},
                       const std::string& until = "");

// Enough JSON for the receivers' lines. The value of `key` among the top-level members of the
// JSON object `json`: a string decoded (escapes undone), any other value as its JSON text
// ("true", "null", "17", "{...}", "[...]"), so objects can be looked into with another call.
// "" when the key is absent or `json` is not an object.
std::string jsonField(const std::string& json, const std::string& key);
// Is `key` a top-level member of the JSON object `json`?
bool jsonHas(const std::string& json, const std::string& key);
// The elements of the JSON array `json`, each as jsonField gives a value; empty when `json` is
// not an array.
std::vector<std::string> jsonArrayItems(const std::string& json);

// The demo enterprise, config/examples/demo.yaml itself with the given ports (config_edit.h),
// trusted_networks 127.0.0.1/32 and 127.0.0.3/32 (so a SIPp bound to 127.0.0.2 is an untrusted
// source, and one on 127.0.0.3 a phone that may call but is neither in pbx_sources nor in
// network_sources, which hold 127.0.0.1/32), no coordinates-based routing (boundaries) and no
// last resort, responders only when asked for, and the routing log at `routingLog`. With
// `storeDb`, the location store lives there (or in ports.storePostgresql's database, when set)
// and is seeded from `seed` (issue 3); without, there is no store. Throws std::runtime_error if the
// demo cannot be read or changed so.
std::string demoConfigYaml(const DemoPorts& ports, const std::filesystem::path& routingLog,
                           const std::filesystem::path& storeDb = {},
                           const std::filesystem::path& seed = {});

// One routing-log line, parsed: key=value pairs, values optionally double-quoted.
struct RoutingLogLine {
  std::string raw;
  std::vector<std::pair<std::string, std::string>> fields;
  // Value of `key`, or "" when absent.
  std::string get(const std::string& key) const;
  bool has(const std::string& key) const;
};

std::vector<RoutingLogLine> readRoutingLog(const std::filesystem::path& path);
RoutingLogLine parseRoutingLogLine(const std::string& line);

// A running sosproxy. The constructor writes nothing; start() spawns it and waits for its
// ready line.
class Sosproxy {
 public:
  Sosproxy(std::filesystem::path binary, std::filesystem::path dir);
  // Runs it as `PREFIX... BINARY --config CONFIG` (under unshare, say); call before start().
  void setLauncher(std::vector<std::string> prefix) { launcher_ = std::move(prefix); }
  // Starts `sosproxy --config CONFIG` and waits up to `timeout` for "sosproxy ready:" in its
  // stdout. Returns false (with the reason in lastError()) when it exits or never gets ready.
  bool start(const std::filesystem::path& config, milliseconds timeout = milliseconds(20000));
  Process* process() { return process_ ? &*process_ : nullptr; }
  std::string lastError() const { return lastError_; }
  // stdout and stderr of the process, for failure messages.
  std::string output() const;

 private:
  std::filesystem::path binary_;
  std::filesystem::path dir_;
  std::vector<std::string> launcher_;
  std::optional<Process> process_;
  std::string lastError_;
};

// One SIPp run: a UAS (listening on `port`) or a UAC (sending to `remote`).
struct SippOptions {
  std::string scenario;  // file name in SIPP_SCENARIOS_DIR
  std::string name;      // for the trace files: DIR/NAME.messages etc.
  std::string localIp = "127.0.0.1";
  uint16_t port = 0;             // local port; 0 picks a free one
  std::string remote;            // "127.0.0.1:5060" for a UAC; empty for a UAS
  std::string transport = "u1";  // SIPp -t: u1 or t1
  std::string service;           // -s
  std::vector<std::pair<std::string, std::string>> sets;  // -set NAME VALUE
  int calls = 1;                                          // -m
  int timeoutSeconds = 30;                                // -timeout (and -timeout_error)
  std::vector<std::string> extraArgs;
};

class Sipp {
 public:
  Sipp(SippOptions options, std::filesystem::path dir);
  // Spawns SIPp. For a UAS also waits until its port is bound.
  bool start(milliseconds readyTimeout = milliseconds(10000));
  // Waits for SIPp to finish (bounded by -timeout plus a margin); returns its exit code, or -1
  // when it had to be killed.
  int wait();
  uint16_t port() const { return options_.port; }
  std::string address() const;
  // Message trace (-trace_msg), the scenario's log actions (-trace_logs), errors (-trace_err).
  std::string messages() const;
  std::string logs() const;
  std::string errors() const;
  // Everything useful for a failure message.
  std::string report() const;
  Process* process() { return process_ ? &*process_ : nullptr; }

 private:
  std::filesystem::path file(const std::string& suffix) const;
  SippOptions options_;
  std::filesystem::path dir_;
  std::optional<Process> process_;
};

// The messages of a SIPp message trace, one string each (start line, headers, body).
std::vector<std::string> traceMessages(const std::string& trace, bool received);
// The first line of each received or sent message ("INVITE sip:911@... SIP/2.0", "SIP/2.0 200 OK").
std::vector<std::string> traceStartLines(const std::string& trace, bool received);
// The value of `header` in `message` (first occurrence, full name, case-insensitive), or "".
std::string headerValue(const std::string& message, const std::string& header);
// The body of a message: the Content-Length bytes after the blank line ("" without one).
std::string bodyOf(const std::string& message);

}  // namespace sos::itest
