// Starting a civetweb HTTP server on host:port, for the admin endpoint and the HTTP intake.
#pragma once

#include <memory>
#include <string>
#include <vector>

class CivetServer;

namespace noisegate::processor {

// Listens on `listen` ("0.0.0.0:9464", "127.0.0.1:0" ...) with civetweb `options` (name, value,
// ...; listening_ports is added). Null with `error` set when it cannot; else the server, and
// the bound port in *port.
std::unique_ptr<CivetServer> HttpListen(const std::string& listen, std::vector<std::string> options,
                                        int* port, std::string* error);

}  // namespace noisegate::processor
