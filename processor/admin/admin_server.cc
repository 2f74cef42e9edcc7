#include "processor/admin/admin_server.h"

#include <CivetServer.h>
#include <prometheus/text_serializer.h>

#include <sstream>

#include "processor/admin/http_listen.h"

namespace noisegate::processor {

class AdminServer::Handler : public CivetHandler {
 public:
  enum Kind { kMetrics, kHealthz, kReadyz, kReload };
  Handler(Kind kind, AdminServer* owner) : kind_(kind), owner_(owner) {}

  bool handlePost(CivetServer*, mg_connection* conn) override {
    if (kind_ != kReload || !owner_->reloads_) return Reply(conn, 405, "use GET\n");
    uint64_t id = owner_->reloads_->Request();
    Reloads::Outcome outcome;
    if (!owner_->reloads_->Wait(id, std::chrono::seconds(60), &outcome)) {
      return Reply(conn, 503, "the reload was not done within 60 s; it still will be\n");
    }
    return Reply(conn, outcome.ok ? 200 : 500, outcome.message + "\n");
  }

  bool handleGet(CivetServer*, mg_connection* conn) override {
    int status = 200;
    std::string body, type = "text/plain; charset=utf-8";
    switch (kind_) {
      case kReload:
        return Reply(conn, 405, "use POST\n");
      case kMetrics: {
        std::ostringstream out;
        prometheus::TextSerializer().Serialize(out, owner_->registry_->Collect());
        body = out.str();
        type = "text/plain; version=0.0.4; charset=utf-8";
        break;
      }
      case kHealthz: {
        std::string why;
        if (owner_->health_->Alive(std::chrono::seconds(60), &why)) {
          body = "ok\n";
        } else {
          status = 503;
          body = why + "\n";
        }
        break;
      }
      case kReadyz: {
        std::string reason;
        if (owner_->health_->Ready(&reason)) {
          body = "ready\n";
        } else {
          status = 503;
          body = "not ready: " + reason + "\n";
        }
        break;
      }
    }
    return Reply(conn, status, body, type);
  }

 private:
  static bool Reply(mg_connection* conn, int status, const std::string& body,
                    const std::string& type = "text/plain; charset=utf-8") {
    const char* text = status == 200   ? "OK"
                       : status == 405 ? "Method Not Allowed"
                       : status == 500 ? "Internal Server Error"
                                       : "Service Unavailable";
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Connection: close\r\n\r\n",
              status, text, type.c_str(), body.size());
    mg_write(conn, body.data(), body.size());
    return true;
  }

  Kind kind_;
  AdminServer* owner_;
};

AdminServer::AdminServer(std::shared_ptr<prometheus::Registry> registry,
                         std::shared_ptr<Health> health, std::shared_ptr<Reloads> reloads)
    : registry_(std::move(registry)), health_(std::move(health)), reloads_(std::move(reloads)) {}

AdminServer::~AdminServer() {
  if (server_) server_->close();
}

bool AdminServer::Start(const std::string& listen, std::string* error) {
  server_ = HttpListen(listen, {"num_threads", "2"}, &port_, error);
  if (!server_) return false;
  metrics_ = std::make_unique<Handler>(Handler::kMetrics, this);
  healthz_ = std::make_unique<Handler>(Handler::kHealthz, this);
  readyz_ = std::make_unique<Handler>(Handler::kReadyz, this);
  server_->addHandler("/metrics", metrics_.get());
  server_->addHandler("/healthz", healthz_.get());
  server_->addHandler("/readyz", readyz_.get());
  reload_ = std::make_unique<Handler>(Handler::kReload, this);
  server_->addHandler("/-/reload", reload_.get());
  return true;
}

}  // namespace noisegate::processor
