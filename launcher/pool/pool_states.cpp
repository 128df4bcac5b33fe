// Names and transition tables of the pool's states.
#include "pool_states.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <utility>

namespace spare::pool {

namespace {

template <class State, std::size_t N>
std::optional<State> parse_word(std::string_view word,
                                const std::array<std::pair<State, std::string_view>, N>& names) {
  const auto named = std::find_if(names.begin(), names.end(),
                                  [&](const auto& entry) { return entry.second == word; });
  if (named == names.end()) return std::nullopt;
  return named->first;
}

template <class State, std::size_t N>
std::string_view word_of(State state,
                         const std::array<std::pair<State, std::string_view>, N>& names) {
  const auto named = std::find_if(names.begin(), names.end(),
                                  [&](const auto& entry) { return entry.first == state; });
  return named == names.end() ? std::string_view("?") : named->second;
}

constexpr std::array<std::pair<JobState, std::string_view>, 10> kJobWords = {{
    {JobState::importing, "importing"},
    {JobState::queued, "queued"},
    {JobState::starting, "starting"},
    {JobState::running, "running"},
    {JobState::finishing, "finishing"},
    {JobState::stopping, "stopping"},
    {JobState::stopped, "stopped"},
    {JobState::done, "done"},
    {JobState::failed, "failed"},
    {JobState::cancelled, "cancelled"},
}};

constexpr std::array<std::pair<GroupState, std::string_view>, 3> kGroupWords = {{
    {GroupState::preparing, "preparing"},
    {GroupState::running, "running"},
    {GroupState::ended, "ended"},
}};

constexpr std::array<std::pair<VolunteerState, std::string_view>, 4> kVolunteerWords = {{
    {VolunteerState::live, "live"},
    {VolunteerState::leaving, "leaving"},
    {VolunteerState::lost, "lost"},
    {VolunteerState::gone, "gone"},
}};

template <class State>
bool one_of(State state, std::initializer_list<State> states) {
  return std::find(states.begin(), states.end(), state) != states.end();
}

}  // namespace

std::string_view to_string(JobState state) {
  return word_of(state, kJobWords);
}
std::string_view to_string(GroupState state) {
  return word_of(state, kGroupWords);
}
std::string_view to_string(VolunteerState state) {
  return word_of(state, kVolunteerWords);
}

std::optional<JobState> parse_job_state(std::string_view word) {
  return parse_word(word, kJobWords);
}
std::optional<GroupState> parse_group_state(std::string_view word) {
  return parse_word(word, kGroupWords);
}
std::optional<VolunteerState> parse_volunteer_state(std::string_view word) {
  return parse_word(word, kVolunteerWords);
}

bool is_active(JobState state) {
  return !one_of(state, {JobState::done, JobState::stopped, JobState::failed, JobState::cancelled});
}

bool job_transition_allowed(JobState from, JobState to) {
  using enum JobState;
  // Failing (restarts exhausted, a final error) and cancelling end any active job.
  if (is_active(from) && (to == failed || to == cancelled)) return true;
  switch (from) {
    case importing:
      return to == queued;
    case queued:
      return one_of(to, {starting, stopped});
    case starting:
      return one_of(to, {running, queued, stopped});
    case running:
      return one_of(to, {finishing, queued, stopping});
    case stopping:
      return one_of(to, {stopped, finishing});
    case finishing:
      return to == done;
    case stopped:
    case done:
    case failed:
    case cancelled:
      return false;
  }
  return false;
}

bool group_transition_allowed(GroupState from, GroupState to) {
  using enum GroupState;
  switch (from) {
    case preparing:
      return one_of(to, {running, ended});
    case running:
      return to == ended;
    case ended:
      return false;
  }
  return false;
}

bool volunteer_transition_allowed(VolunteerState from, VolunteerState to) {
  using enum VolunteerState;
  // Registering again makes any volunteer live: its agent was restarted.
  if (to == live) return from != live;
  switch (from) {
    case live:
      return one_of(to, {lost, leaving});
    case lost:
      return one_of(to, {leaving});
    case leaving:
      return one_of(to, {lost, gone});
    case gone:
      return false;
  }
  return false;
}

}  // namespace spare::pool
