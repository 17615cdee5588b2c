#include "proxy/server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstring>
#include <future>

#include "proxy/allocator.h"
#include "proxy/b2bua.h"
#include "proxy/sofia.h"

namespace sos::proxy {

// Shared between the main thread and the SIP thread; the root pointer is published once the
// SIP thread has created it and is only used through su_msg_send from elsewhere.
struct Server::State {
  std::promise<std::optional<std::string>> ready;
  su_root_t* root = nullptr;
  B2bua* b2bua = nullptr;  // SIP thread only
  std::atomic<bool> running{false};
};

namespace {

std::string hostForUri(std::string const& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

void breakRoot(su_root_magic_t*, su_msg_r, su_msg_arg_t* arg) {
  su_root_break(*static_cast<su_root_t**>(static_cast<void*>(arg)));
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
  } catch (std::exception const& e) {
    spdlog::error("posted work on the SIP thread failed: {}", e.what());
  }
}

void freePosted(su_msg_arg_t* arg) {
  auto* p = static_cast<Posted*>(static_cast<void*>(arg));
  delete p->fn;
  p->fn = nullptr;
}

}  // namespace

Server::Server(std::shared_ptr<const config::Config> config,
               std::shared_ptr<const routing::Router> router, RoutingLog& log)
    : config_(std::move(config)),
      router_(std::move(router)),
      log_(log),
      counters_(std::make_unique<B2buaCounters>()) {}

Server::~Server() { stop(); }

std::optional<std::string> Server::start() {
  state_ = std::make_shared<State>();
  auto ready = state_->ready.get_future();
  thread_ = std::thread([this, state = state_] { run(state); });
  auto error = ready.get();
  if (error) {
    thread_.join();
    return error;
  }
  auto const& l = config_->listen;
  for (auto t : l.transports) {
    listening_ += (listening_.empty() ? "" : " ") + std::string(config::toString(t)) + ":" +
                  hostForUri(l.address) + ":" + std::to_string(l.port);
  }
  return std::nullopt;
}

void Server::stop() {
  if (!thread_.joinable()) return;
  su_msg_r m = SU_MSG_R_INIT;
  if (su_msg_create(m, su_root_task(state_->root), su_task_null, breakRoot, sizeof(su_root_t*)) ==
      0) {
    *static_cast<su_root_t**>(static_cast<void*>(su_msg_data(m))) = state_->root;
    su_msg_send(m);
  }
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
  } catch (std::future_error const&) {
    return false;
  }
}

void Server::run(const std::shared_ptr<State>& state) {
  if (allocator::prepareSipThread())
    spdlog::debug("SIP thread: call state and transactions in jemalloc arenas of their own");
  su_root_t* root = su_root_create(nullptr);  // created on the thread that runs it
  if (root == nullptr) {
    state->ready.set_value("cannot create the SIP event loop");
    return;
  }
  auto const& l = config_->listen;
  bool udp = false, tcp = false;
  for (auto t : l.transports) (t == config::Transport::Udp ? udp : tcp) = true;
  // Without a transport parameter nta binds UDP and TCP both.
  std::string url = "sip:" + hostForUri(l.address) + ":" + std::to_string(l.port);
  if (udp != tcp) url += udp ? ";transport=udp" : ";transport=tcp";

  nta_agent_t* agent = nta_agent_create(
      root, URL_STRING_MAKE(url.c_str()), nullptr, nullptr,
      NTATAG_UA(1),  // nta retransmits 2xx until ACK (RFC 3261 13.3.1.4)
      NTATAG_SERVER_RPORT(1), NTATAG_CLIENT_RPORT(1),
      NTATAG_UDP_MTU(65535),                   // never move a big INVITE silently to TCP
      NTATAG_BAD_REQ_MASK(sip_mask_request),   // odd headers reach us instead of an automatic 400
      NTATAG_USE_NAPTR(0), NTATAG_USE_SRV(0),  // trunks are numeric: no DNS on the call path
      NTATAG_EXTRA_100(0), TPTAG_UDP_RMEM(4 << 20), TPTAG_UDP_WMEM(4 << 20), TAG_END());
  if (agent == nullptr) {
    su_root_destroy(root);
    state->ready.set_value("cannot listen on " + url + ": " + std::string(strerror(errno)));
    return;
  }

  // Angle brackets keep ";transport=tcp" a URI parameter, not a header parameter.
  std::string const base = "sip:" + hostForUri(l.address) + ":" + std::to_string(l.port);
  auto b2bua = std::make_unique<B2bua>(
      agent, root, router_, log_, B2bua::Contacts{"<" + base + ">", "<" + base + ";transport=tcp>"},
      *counters_);
  nta_leg_t* dflt =
      nta_leg_tcreate(agent, B2bua::onRequest, b2bua->defaultLeg(), NTATAG_NO_DIALOG(1), TAG_END());
  if (dflt == nullptr) {
    b2bua.reset();
    nta_agent_destroy(agent);
    su_root_destroy(root);
    state->ready.set_value("cannot create the default SIP leg");
    return;
  }
  b2bua->setElinPersistence(elinSink_, std::move(initialElins_));
  b2bua->setCallRecordSink(recordSink_);
  b2bua->setEventSink(eventSink_);
  b2bua->setLocations(initialLocations_);
  state->b2bua = b2bua.get();
  state->root = root;
  state->running = true;
  state->ready.set_value(std::nullopt);

  su_root_run(root);

  state->running = false;
  state->b2bua = nullptr;
  spdlog::info("SIP thread stopping; {} calls active", counters_->active.load());
  nta_leg_destroy(dflt);
  b2bua.reset();  // releases the calls' legs and transactions while the agent still exists
  nta_agent_destroy(agent);
  su_root_destroy(root);
}

}  // namespace sos::proxy
