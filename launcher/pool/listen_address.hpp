// Where a server of the pool listens: "HOST:PORT" parsed, resolved and
// bound, for the HTTPS server and the metrics listener alike.
#pragma once

#include <string>

#include <boost/asio/ip/tcp.hpp>

namespace spare::pool {

/// Opens `acceptor` (closed) listening on `address`, "HOST:PORT" or
/// "[IPv6]:PORT" (port 0: any free port); returns the port. Throws
/// UsageError for a malformed address, spare::Error naming the address and
/// the reason if it cannot listen there.
int listen_on(boost::asio::ip::tcp::acceptor& acceptor, const std::string& address);

}  // namespace spare::pool
