// The metrics listener: Beast over plain TCP, one request per connection.
#include "metrics_listener.hpp"

#include <chrono>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "listen_address.hpp"
#include "metrics_text.hpp"

namespace spare::pool {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr auto kClientDeadline = std::chrono::seconds(10);

/// One connection: read a request, answer it, close.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(tcp::socket socket, const std::function<std::string()>& metrics,
           const std::function<void(const std::string&)>& log)
      : stream_(std::move(socket)), metrics_(metrics), log_(log) {}

  void start() {
    parser_.body_limit(0);  // a scrape has no body
    parser_.header_limit(8 * 1024);
    stream_.expires_after(kClientDeadline);
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](const error_code& ec, std::size_t) {
                       if (!ec) self->answer();
                     });
  }

 private:
  void answer() {
    const auto& request = parser_.get();
    reply_.version(request.version());
    reply_.keep_alive(false);
    const std::string_view target(request.target().data(), request.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if (path != "/metrics") {
      reply_.result(http::status::not_found);
      reply_.set(http::field::content_type, "text/plain");
      reply_.body() = "only /metrics is served here\n";
    } else if (request.method() != http::verb::get && request.method() != http::verb::head) {
      reply_.result(http::status::method_not_allowed);
      reply_.set(http::field::allow, "GET, HEAD");
    } else {
      try {
        reply_.body() = metrics_();
        reply_.result(http::status::ok);
        reply_.set(http::field::content_type, std::string(MetricsText::kContentType));
      } catch (const std::exception& error) {
        log_(fmt::format("metrics: cannot answer a scrape: {}", error.what()));
        reply_.result(http::status::internal_server_error);
      }
      if (request.method() == http::verb::head) reply_.body().clear();
    }
    reply_.prepare_payload();
    stream_.expires_after(kClientDeadline);
    http::async_write(stream_, reply_, [self = shared_from_this()](const error_code&, std::size_t) {
      error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> reply_;
  const std::function<std::string()>& metrics_;
  const std::function<void(const std::string&)>& log_;
};

}  // namespace

struct MetricsListener::Impl {
  Impl(std::function<std::string()> metrics_in, std::function<void(const std::string&)> log_in)
      : metrics(std::move(metrics_in)), log(std::move(log_in)) {}

  void accept() {
    acceptor.async_accept([this](const error_code& ec, tcp::socket socket) {
      if (!acceptor.is_open()) return;
      if (!ec) std::make_shared<Exchange>(std::move(socket), metrics, log)->start();
      accept();
    });
  }

  std::function<std::string()> metrics;
  std::function<void(const std::string&)> log;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
};

MetricsListener::MetricsListener(const std::string& address, std::function<std::string()> metrics,
                                 std::function<void(const std::string&)> log)
    : impl_(std::make_unique<Impl>(std::move(metrics), std::move(log))) {
  port_ = listen_on(impl_->acceptor, address);
}

MetricsListener::~MetricsListener() {
  stop();
}

void MetricsListener::start() {
  impl_->accept();
  thread_ = std::thread([impl = impl_.get()] {
    for (;;) {
      try {
        impl->io.run();
        return;
      } catch (const std::exception& error) {
        impl->log(fmt::format("metrics: the listener's event loop caught: {}", error.what()));
      }
    }
  });
}

void MetricsListener::stop() {
  if (!thread_.joinable()) return;
  // Closing the acceptor and every connection ends the loop's work; stop() makes sure.
  asio::post(impl_->io, [impl = impl_.get()] {
    error_code ignored;
    impl->acceptor.close(ignored);
    impl->io.stop();
  });
  thread_.join();
}

}  // namespace spare::pool
