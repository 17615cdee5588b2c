#include "proxy/server.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <future>
#include <vector>

#include "proxy/allocator.h"
#include "proxy/b2bua.h"
#include "proxy/dns_guard.h"
#include "proxy/edge.h"
#include "proxy/invite_gate.h"
#include "proxy/sip_heartbeat.h"
#include "proxy/sip_loop.h"
#include "proxy/sip_tls.h"
#include "proxy/sofia.h"
#include "proxy/sofia_log.h"
#include "proxy/test_caller.h"

namespace sos::proxy {

// Shared between the main thread and the SIP thread; the root pointer is published once the
// SIP thread has created it and is only used through su_msg_send from elsewhere.
struct Server::State {
  std::promise<std::optional<std::string>> ready;
  su_root_t* root = nullptr;
  B2bua* b2bua = nullptr;   // SIP thread only
  SipLoop* loop = nullptr;  // SIP thread only
  std::atomic<bool> running{false};
  // Set by stop() once its message has been sent. su_msg_send wakes the root by writing to a
  // socket after it has queued the message, so the SIP thread can see the message (and stop)
  // before the write is done; it must not close that socket (su_root_destroy) until then.
  std::promise<void> stopSent;
};

namespace {

// The epoll descriptor su_root_create opened: the one in `after` that is not in `before`, when
// there is exactly one (another thread opening one at the same moment makes it unsure: -1).
int rootEpoll(const std::vector<int>& before, const std::vector<int>& after) {
  int found = -1;
  for (int fd : after) {
    if (std::find(before.begin(), before.end(), fd) != before.end()) continue;
    if (found >= 0) return -1;
    found = fd;
  }
  return found;
}

std::string hostForUri(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

bool listed(const config::Listen& l, config::Transport t) {
  return std::find(l.transports.begin(), l.transports.end(), t) != l.transports.end();
}

// The URL nta listens on for UDP and TCP (without a transport parameter it binds both); empty
// when neither is listed (TLS only). TLS has a port of its own (proxy/sip_tls.h).
std::string listenUrl(const config::Listen& l) {
  const bool udp = listed(l, config::Transport::Udp), tcp = listed(l, config::Transport::Tcp);
  if (!udp && !tcp) return "";
  std::string url = "sip:" + hostForUri(l.address) + ":" + std::to_string(l.port);
  if (udp != tcp) url += udp ? ";transport=udp" : ";transport=tcp";
  return url;
}

// The nta agent, listening as `config` says (UDP and TCP on listen.port, TLS on its own port),
// its requests outside a dialog going to `edge`. Null, with why in `error`, when it cannot.
nta_agent_t* createAgent(su_root_t* root, const config::Config& config, Edge* edge,
                         SipTlsTransport& tls, std::string& error) {
  const config::Listen& l = config.listen;
  const config::Edge& limits = config.edge;
  const std::string url = listenUrl(l);
  // TLS only: no UDP/TCP URL (nta's documented "no transport yet"), TLS is added below.
  const url_string_t* bindUrl =
      url.empty() ? reinterpret_cast<const url_string_t*>(-1)  // NOLINT(performance-no-int-to-ptr)
                  : URL_STRING_MAKE(url.c_str());
  nta_agent_t* agent = nta_agent_create(
      root, bindUrl, Edge::onMessage, edge,
      NTATAG_UA(1),  // nta retransmits 2xx until ACK (RFC 3261 13.3.1.4)
      // Answers go back to the address and port each request came from (RFC 3581 for every
      // client, not only those that asked with rport): never to a name that needs DNS.
      NTATAG_SERVER_RPORT(2), NTATAG_CLIENT_RPORT(1),
      NTATAG_UDP_MTU(65535),                   // never move a big INVITE silently to TCP
      NTATAG_BAD_REQ_MASK(sip_mask_request),   // odd headers reach us instead of an automatic 400
      NTATAG_USE_NAPTR(0), NTATAG_USE_SRV(0),  // trunks are numeric: no DNS on the call path
      NTATAG_EXTRA_100(0), TPTAG_UDP_RMEM(4 << 20), TPTAG_UDP_WMEM(4 << 20),
      // TCP: a listen backlog of 1000 (Sofia's largest; its default is 64), idle connections
      // closed, and a message begun but not finished in time closes its connection.
      TPTAG_QUEUESIZE(1000), TPTAG_IDLE(static_cast<unsigned>(limits.tcpIdleTimeoutMs)),
      TPTAG_TIMEOUT(static_cast<unsigned>(limits.tcpMessageTimeoutMs)), TAG_END());
  if (agent == nullptr) {
    error = "cannot listen on " + url + ": " + std::string(strerror(errno));
    return nullptr;
  }
  if (listed(l, config::Transport::Tls) && l.tls) {
    const std::string why = tls.add(agent, hostForUri(l.address), *l.tls,
                                    static_cast<unsigned>(limits.tcpIdleTimeoutMs),
                                    static_cast<unsigned>(limits.tcpMessageTimeoutMs));
    if (!why.empty()) {
      nta_agent_destroy(agent);
      error = "SIP over TLS: " + why;
      return nullptr;
    }
  }
  return agent;
}

// Our Contact for each transport. Angle brackets keep ";transport=tcp" a URI parameter, not a
// header parameter.
B2bua::Contacts contactsFor(const config::Listen& l) {
  const std::string base = "sip:" + hostForUri(l.address) + ":" + std::to_string(l.port);
  B2bua::Contacts contacts{"<" + base + ">", "<" + base + ";transport=tcp>", ""};
  if (listed(l, config::Transport::Tls) && l.tls) {
    contacts.tls =
        "<sip:" + hostForUri(l.address) + ":" + std::to_string(l.tls->port) + ";transport=tls>";
  }
  return contacts;
}

// The stop message's data: the root, and where the SIP thread keeps its loop (in the State,
// which outlives the thread).
struct StopTarget {
  su_root_t* root;
  SipLoop* const* loop;
};

void breakRoot(su_root_magic_t*, su_msg_r, su_msg_arg_t* arg) {
  const auto* target = static_cast<StopTarget*>(static_cast<void*>(arg));
  if (*target->loop) {
    (*target->loop)->stop();
  } else {
    su_root_break(target->root);
  }
}

// A closure crossing into the SIP thread (su_msg is Sofia's thread-safe queue).
struct Posted {
  std::function<void(B2bua&)>* fn;
  B2bua** target;
};

void runPosted(su_root_magic_t*, su_msg_r, su_msg_arg_t* arg) {
  auto* p = static_cast<Posted*>(static_cast<void*>(arg));
  try {
    if (*p->target) (*p->fn)(**p->target);
  } catch (const std::exception& e) {
    spdlog::error("posted work on the SIP thread failed: {}", e.what());
  }
}

void freePosted(su_msg_arg_t* arg) {
  auto* p = static_cast<Posted*>(static_cast<void*>(arg));
  delete p->fn;
  p->fn = nullptr;
}

// Scheduled test calls (issue 21) read what the B2BUA has in force: the configuration, the
// location snapshot, and whether it sheds ordinary calls or drains.
TestCaller::Sources testCallSources(B2bua& b) {
  return {[&b] { return b.router()->sharedConfig(); },
          [&b] { return b.plannerState().locations(); }, [&b] { return b.admission().busy(); }};
}

}  // namespace

Server::Server(std::shared_ptr<const config::Config> config,
               std::shared_ptr<const routing::Router> router, RoutingLog& log)
    : config_(std::move(config)),
      router_(std::move(router)),
      log_(log),
      counters_(std::make_unique<B2buaCounters>()),
      health_(std::make_unique<SipHealth>()),
      sipTls_(std::make_unique<SipTlsTransport>()) {}

Server::~Server() { stop(); }

std::optional<std::string> Server::start() {
  // Every connection and transaction needs descriptors: the soft default (often 1024) is too
  // few for a flood of TCP connections (issue 14).
  counters_->edge.descriptorLimit = raiseDescriptorLimit();
  state_ = std::make_shared<State>();
  auto ready = state_->ready.get_future();
  thread_ = std::thread([this, state = state_] { run(state); });
  auto error = ready.get();
  if (error) {
    thread_.join();
    return error;
  }
  const auto& l = config_->listen;
  for (auto t : l.transports) {
    const uint16_t port = t == config::Transport::Tls && l.tls ? l.tls->port : l.port;
    listening_ += (listening_.empty() ? "" : " ") + std::string(config::toString(t)) + ":" +
                  hostForUri(l.address) + ":" + std::to_string(port);
  }
  return std::nullopt;
}

void Server::stop() {
  if (!thread_.joinable()) return;
  su_msg_r m = SU_MSG_R_INIT;
  if (su_msg_create(m, su_root_task(state_->root), su_task_null, breakRoot, sizeof(StopTarget)) ==
      0) {
    *static_cast<StopTarget*>(static_cast<void*>(su_msg_data(m))) = {state_->root, &state_->loop};
    su_msg_send(m);
  }
  state_->stopSent.set_value();
  thread_.join();
}

bool Server::post(std::function<void(B2bua&)> fn) {
  if (!state_ || !state_->running) return false;
  su_msg_r m = SU_MSG_R_INIT;
  if (su_msg_create(m, su_root_task(state_->root), su_task_null, runPosted, sizeof(Posted)) != 0)
    return false;
  auto* p = static_cast<Posted*>(static_cast<void*>(su_msg_data(m)));
  p->fn = new std::function<void(B2bua&)>(std::move(fn));
  p->target = &state_->b2bua;
  su_msg_deinitializer(m, freePosted);
  return su_msg_send(m) == 0;
}

void Server::reloadSipTls() {
  const config::Listen& l = config_->listen;
  if (!l.tls || !listed(l, config::Transport::Tls)) return;
  // The files are read here (the caller's thread, not the SIP thread: it never reads a disk
  // once calls run); only putting them into the transport is the SIP thread's.
  std::string why;
  std::shared_ptr<SipTlsFiles> files = readSipTlsFiles(*l.tls, why);
  if (!files) {
    spdlog::error("SIP over TLS: keeping the certificate in use: {}", why);
    return;
  }
  const bool posted =
      post([files, certificate = l.tls->certificate, transport = sipTls_.get()](B2bua&) {
        if (const std::string problem = transport->use(*files); !problem.empty()) {
          spdlog::error("SIP over TLS: keeping the certificate in use: {}", problem);
        } else {
          spdlog::info(
              "SIP over TLS: certificate {}, key and CAs read again (for connections from now on)",
              certificate);
        }
      });
  if (!posted)
    spdlog::warn("SIP over TLS: certificates not read again: the SIP thread is not running");
}

bool Server::setRouter(std::shared_ptr<const routing::Router> router,
                       std::chrono::milliseconds timeout) {
  auto taken = std::make_shared<std::promise<void>>();
  auto done = taken->get_future();
  if (!post([router = std::move(router), taken](B2bua& b) {
        b.setRouter(router);
        taken->set_value();
      }))
    return false;
  if (done.wait_for(timeout) != std::future_status::ready) return false;
  try {
    done.get();  // a closure dropped unrun (the SIP thread stopped) breaks the promise
    return true;
  } catch (const std::future_error&) {
    return false;
  }
}

void Server::run(const std::shared_ptr<State>& state) {
  pthread_setname_np(pthread_self(), "sos-sip");  // top -H, gdb; the health tests find it so
  if (allocator::prepareSipThread())
    spdlog::debug("SIP thread: call state and transactions in jemalloc arenas of their own");
  const std::vector<int> epollsBefore = SipLoop::epollDescriptors();
  su_root_t* root = su_root_create(nullptr);  // created on the thread that runs it
  if (root == nullptr) {
    state->ready.set_value("cannot create the SIP event loop");
    return;
  }
  const auto& l = config_->listen;
  sofia_log::redirect();  // Sofia's own diagnostics: to the operational log, rate-limited
  // Requests outside any dialog meet the edge first, through nta's stateless message callback
  // (no default leg): it refuses strangers without a transaction and hands the rest on.
  auto edge = std::make_unique<Edge>(root, log_, counters_->edge);
  std::string error;
  nta_agent_t* agent = createAgent(root, *config_, edge.get(), *sipTls_, error);
  if (agent == nullptr) {
    su_root_destroy(root);
    state->ready.set_value(error);
    return;
  }
  // From here on this thread never waits on DNS (proxy/dns_guard.h).
  dns_guard::markSipThread();

  const B2bua::Contacts contacts = contactsFor(l);
  auto b2bua = std::make_unique<B2bua>(agent, root, router_, log_, contacts, *counters_);
  // Past capacity over UDP: INVITEs held back in the kernel while the queue is long.
  auto gate = listed(l, config::Transport::Udp) && config_->limits.udpInviteGate
                  ? std::make_unique<InviteGate>(root, l.port, counters_->gate)
                  : nullptr;
  edge->attach(agent, b2bua.get(), l.port);
  b2bua->setElinPersistence(elinSink_, std::move(initialElins_));
  b2bua->setCallRecordSink(recordSink_);
  b2bua->setEventSink(eventSink_);
  b2bua->setLiveSink(
      [feed = &liveFeed_](const notify::CallEvent& e, bool refused) { feed->offer(e, refused); });
  b2bua->setLocations(initialLocations_);
  auto tests =
      std::make_unique<TestCaller>(agent, root, contacts, *counters_, log_, testCallSources(*b2bua),
                                   testCallSink_, testCallHistory_);
  state->b2bua = b2bua.get();
  state->root = root;
  state->running = true;
  auto heartbeat = std::make_unique<SipHeartbeat>(
      root, *health_, [b = b2bua.get()] { return b->trunks().down(); }, systemd_,
      [b = b2bua.get()](uint64_t& version) { return b->trunks().status(version); });
  health_->setListening(true);
  state->ready.set_value(std::nullopt);

  SipLoop loop(root, rootEpoll(epollsBefore, SipLoop::epollDescriptors()));
  loop.setBeforeStep([e = edge.get()] { e->takeRelayed(); });
  state->loop = &loop;
  loop.run();
  state->loop = nullptr;
  state->stopSent.get_future().wait_for(std::chrono::seconds(5));

  health_->setListening(false);
  heartbeat.reset();
  state->running = false;
  state->b2bua = nullptr;
  spdlog::info("SIP thread stopping; {} calls active", counters_->active.load());
  gate.reset();
  edge.reset();
  tests.reset();  // reads the B2BUA: goes first
  b2bua.reset();  // releases the calls' legs and transactions while the agent still exists
  nta_agent_destroy(agent);
  su_root_destroy(root);
}

}  // namespace sos::proxy
