// Cancelling a group's work and its requests in flight.
#include "cancellation.hpp"

namespace spare::pool {

void Cancellation::cancel() {
  const std::lock_guard lock(mutex_);
  cancelled_ = true;
  for (HttpsClient* client : clients_)
    client->interrupt();
}

Cancellation::Scope::Scope(Cancellation& cancellation, HttpsClient& client)
    : cancellation_(cancellation), client_(client) {
  const std::lock_guard lock(cancellation_.mutex_);
  cancellation_.clients_.insert(&client_);
}

Cancellation::Scope::~Scope() {
  const std::lock_guard lock(cancellation_.mutex_);
  cancellation_.clients_.erase(&client_);
}

}  // namespace spare::pool
