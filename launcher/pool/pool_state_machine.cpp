// The pool's events and what each does to its jobs, groups and volunteers.
#include "pool_state_machine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "pool_records_json.hpp"
#include "request_error.hpp"
#include "spare/device.hpp"
#include "spare/error.hpp"
#include "spare/events.hpp"
#include "spare/output_layout.hpp"

namespace spare::pool {

namespace {

/// The kernel's exit codes that no re-forming can cure.
bool job_error_is_final(int code) {
  return code == static_cast<int>(ExitCode::invalid_job) ||
         code == static_cast<int>(ExitCode::checkpoint) ||
         code == static_cast<int>(ExitCode::usage);
}

std::string restore_description(std::optional<std::int64_t> restore,
                                std::optional<std::int64_t> pool_copy) {
  if (!restore) return "from the start";
  if (pool_copy == restore) return fmt::format("restoring step {}", *restore);
  return fmt::format(
      "restoring step {}, gathered with volunteers' copies (the pool's own "
      "newest: {})",
      *restore, pool_copy ? std::to_string(*pool_copy) : std::string("none"));
}

bool heartbeats(VolunteerState state) {
  return state == VolunteerState::live || state == VolunteerState::leaving;
}

}  // namespace

PoolStateMachine::PoolStateMachine(PoolSettings settings, PoolSnapshot snapshot, double now)
    : settings_(settings) {
  for (VolunteerRecord& v : snapshot.volunteers) {
    // After a restart every volunteer gets a full timeout to be heard from again.
    if (heartbeats(v.state)) v.last_seen = std::max(v.last_seen, now);
    next_volunteer_ = std::max(next_volunteer_, v.id + 1);
    volunteer_ids_[v.name] = v.id;
    volunteers_.emplace(v.id, std::move(v));
  }
  for (JobRecord& j : snapshot.jobs) {
    next_job_ = std::max(next_job_, j.id + 1);
    jobs_.emplace(j.id, std::move(j));
  }
  for (GroupRecord& g : snapshot.groups) {
    next_group_ = std::max(next_group_, g.id + 1);
    if (g.state != GroupState::ended) open_groups_.insert(g.id);
    groups_.emplace(g.id, std::move(g));
  }
  for (ManifestRecord& m : snapshot.manifests) {
    auto& of_job = believed_[m.job];
    of_job.insert_or_assign(m.step, std::move(m));
  }
  segments_.reset_records(snapshot.segments);
}

void PoolStateMachine::reset_records(PoolSnapshot snapshot, double now) {
  const std::vector<SegmentRecord> snapshot_segments = snapshot.segments;
  PoolStateMachine fresh(settings_, std::move(snapshot), now);
  volunteers_ = std::move(fresh.volunteers_);
  volunteer_ids_ = std::move(fresh.volunteer_ids_);
  jobs_ = std::move(fresh.jobs_);
  groups_ = std::move(fresh.groups_);
  open_groups_ = std::move(fresh.open_groups_);
  believed_ = std::move(fresh.believed_);
  segments_.reset_records(snapshot_segments);
  next_volunteer_ = fresh.next_volunteer_;
  next_job_ = fresh.next_job_;
  next_group_ = fresh.next_group_;
  pending_ = {};
  touched_volunteers_.clear();
  touched_jobs_.clear();
  touched_groups_.clear();
}

// ---- bookkeeping ----

void PoolStateMachine::touched(const JobRecord& job) {
  touched_jobs_.insert(job.id);
}
void PoolStateMachine::touched(const GroupRecord& group) {
  touched_groups_.insert(group.id);
}
void PoolStateMachine::touched(const VolunteerRecord& volunteer) {
  touched_volunteers_.insert(volunteer.id);
}

void PoolStateMachine::note(std::int64_t job, const std::string& kind, const std::string& text,
                            double time) {
  pending_.changes.notes.push_back({job, kind, text, time});
}

Applied PoolStateMachine::take() {
  Applied applied = std::move(pending_);
  pending_ = {};
  for (const std::int64_t id : touched_volunteers_)
    applied.changes.volunteers.push_back(volunteers_.at(id));
  for (const std::int64_t id : touched_jobs_)
    applied.changes.jobs.push_back(jobs_.at(id));
  for (const std::int64_t id : touched_groups_)
    applied.changes.groups.push_back(groups_.at(id));
  touched_volunteers_.clear();
  touched_jobs_.clear();
  touched_groups_.clear();
  return applied;
}

namespace {

/// `state` becomes `to`, if the table allows it; false if it already was.
template <class State>
bool transition(State& state, State to, bool (*allowed)(State, State), const char* record,
                std::int64_t id) {
  if (state == to) return false;
  if (!allowed(state, to)) {
    throw std::logic_error(fmt::format("{} {}: no transition from {} to {}", record, id,
                                       to_string(state), to_string(to)));
  }
  state = to;
  return true;
}

}  // namespace

void PoolStateMachine::set_job_state(JobRecord& job, JobState to) {
  if (transition(job.state, to, job_transition_allowed, "job", job.id)) touched(job);
}

void PoolStateMachine::end_group(GroupRecord& group, const std::string& outcome, double now) {
  if (!transition(group.state, GroupState::ended, group_transition_allowed, "group", group.id)) {
    return;
  }
  group.outcome = outcome;
  group.ended = now;
  open_groups_.erase(group.id);
  touched(group);
}

void PoolStateMachine::launch_group(GroupRecord& group) {
  if (transition(group.state, GroupState::running, group_transition_allowed, "group", group.id)) {
    touched(group);
  }
}

void PoolStateMachine::set_volunteer_state(VolunteerRecord& volunteer, VolunteerState to) {
  if (transition(volunteer.state, to, volunteer_transition_allowed, "volunteer", volunteer.id)) {
    touched(volunteer);
  }
}

JobRecord& PoolStateMachine::job_or_404(std::int64_t id) {
  const auto found = jobs_.find(id);
  if (found == jobs_.end()) throw RequestError(404, fmt::format("no job {} in this pool", id));
  return found->second;
}

GroupRecord& PoolStateMachine::group_or_404(std::int64_t id) {
  const auto found = groups_.find(id);
  if (found == groups_.end()) throw RequestError(404, fmt::format("no group {} in this pool", id));
  return found->second;
}

// ---- queries ----

const VolunteerRecord* PoolStateMachine::volunteer(std::int64_t id) const {
  const auto found = volunteers_.find(id);
  return found == volunteers_.end() ? nullptr : &found->second;
}

const JobRecord* PoolStateMachine::job(std::int64_t id) const {
  const auto found = jobs_.find(id);
  return found == jobs_.end() ? nullptr : &found->second;
}

const GroupRecord* PoolStateMachine::group(std::int64_t id) const {
  const auto found = groups_.find(id);
  return found == groups_.end() ? nullptr : &found->second;
}

std::vector<const GroupRecord*> PoolStateMachine::groups_of_job(std::int64_t job) const {
  std::vector<const GroupRecord*> found;
  for (const auto& [id, g] : groups_) {
    if (g.job == job) found.push_back(&g);
  }
  return found;
}

bool PoolStateMachine::key_matches(std::int64_t id, const std::string& key_hash) const {
  const VolunteerRecord* v = volunteer(id);
  return v != nullptr && !v->key_hash.empty() && constant_time_equal(v->key_hash, key_hash);
}

bool PoolStateMachine::is_member(std::int64_t group_id, std::int64_t volunteer) const {
  const GroupRecord* g = group(group_id);
  return g != nullptr &&
         std::any_of(g->members.begin(), g->members.end(),
                     [&](const MemberRecord& m) { return m.volunteer == volunteer; });
}

bool PoolStateMachine::is_head(std::int64_t group_id, std::int64_t volunteer) const {
  const GroupRecord* g = group(group_id);
  return g != nullptr && g->head == volunteer;
}

bool PoolStateMachine::ran_job(std::int64_t job, std::int64_t volunteer) const {
  return std::any_of(groups_.begin(), groups_.end(), [&](const auto& entry) {
    const GroupRecord& g = entry.second;
    return g.job == job &&
           std::any_of(g.members.begin(), g.members.end(),
                       [&](const MemberRecord& m) { return m.volunteer == volunteer; });
  });
}

bool PoolStateMachine::vault_holds(std::int64_t job, std::int64_t step) const {
  const auto whole = whole_in_vault_.find(job);
  return whole != whole_in_vault_.end() && whole->second.count(step) > 0;
}

double PoolStateMachine::silence_allowed(std::int64_t volunteer) const {
  const auto told = told_interval_.find(volunteer);
  if (told == told_interval_.end() || settings_.heartbeat_interval <= 0) {
    return settings_.heartbeat_timeout;
  }
  return settings_.heartbeat_timeout * std::max(1.0, told->second / settings_.heartbeat_interval);
}

bool PoolStateMachine::reachable(const VolunteerRecord& v, double now) const {
  return heartbeats(v.state) && now - v.last_seen <= silence_allowed(v.id);
}

std::optional<std::int64_t> PoolStateMachine::restore_point(std::int64_t job, double now) const {
  const auto believed = believed_.find(job);
  if (believed == believed_.end()) return std::nullopt;
  StepShards on_volunteers;
  for (const auto& [id, v] : volunteers_) {
    if (!reachable(v, now)) continue;
    const auto held = holdings_.find(id);
    if (held == holdings_.end()) continue;
    const auto steps = held->second.find(job);
    if (steps == held->second.end()) continue;
    for (const auto& [step, files] : steps->second)
      on_volunteers[step].insert(files.begin(), files.end());
  }
  static const std::set<std::int64_t> none_failed;
  static const std::map<std::int64_t, std::set<std::string>> nothing_held;
  const auto failed_entry = ungatherable_.find(job);
  const std::set<std::int64_t>& failed =
      failed_entry == ungatherable_.end() ? none_failed : failed_entry->second;
  const auto vault_entry = in_vault_.find(job);
  const auto& vault = vault_entry == in_vault_.end() ? nothing_held : vault_entry->second;
  // The newest step whose manifest the pool believes and each of whose
  // shards the pool or a reachable volunteer holds.
  for (auto entry = believed->second.rbegin(); entry != believed->second.rend(); ++entry) {
    const auto& [step, manifest] = *entry;
    const std::vector<std::string>& listed = manifest.shards;
    if (failed.count(step)) continue;
    const auto in_vault = vault.find(step);
    const std::set<std::string>& held = on_volunteers[step];
    // A replica's copy: the leader fetches what its vault lacks from it.
    const bool on_replicas = !manifest.replicas.empty();
    const bool gatherable = std::all_of(listed.begin(), listed.end(), [&](const std::string& f) {
      return on_replicas || held.count(f) || (in_vault != vault.end() && in_vault->second.count(f));
    });
    if (gatherable) return step;
  }
  return std::nullopt;
}

std::string PoolStateMachine::broken_invariant() const {
  std::map<std::int64_t, int> open_per_job;
  for (const std::int64_t id : open_groups_) {
    const GroupRecord& g = groups_.at(id);
    if (g.state == GroupState::ended) return fmt::format("group {} is ended and open", id);
    ++open_per_job[g.job];
  }
  for (const auto& [id, g] : groups_) {
    if (g.state != GroupState::ended && !open_groups_.count(id)) {
      return fmt::format("group {} is {} but not open", id, to_string(g.state));
    }
  }
  for (const auto& [id, job] : jobs_) {
    const int open = open_per_job[id];
    if (open > 1) return fmt::format("job {} has {} open groups", id, open);
    const bool needs_group = job.state == JobState::starting || job.state == JobState::running;
    if (needs_group && open != 1) {
      return fmt::format("job {} is {} with no open group", id, to_string(job.state));
    }
    // A stopping job's group is draining, or has ended and its checkpoint is on its way.
    if (!needs_group && open != 0 && job.state != JobState::stopping) {
      return fmt::format("job {} is {} and has an open group", id, to_string(job.state));
    }
  }
  return {};
}

// ---- events ----

Applied PoolStateMachine::register_volunteer(VolunteerRecord v, const std::string& offered_key_hash,
                                             double now, std::int64_t& id) {
  // A name is bound to its volunteer's key for good: its agent, restarted or
  // back after a loss, shows the key kept in its storage; a new key is a new
  // volunteer, under a name of its own.
  const auto named = volunteer_ids_.find(v.name);
  if (named != volunteer_ids_.end() &&
      (offered_key_hash.empty() || !key_matches(named->second, offered_key_hash))) {
    throw RequestError(409, fmt::format("volunteer {} is registered with another key: its agent "
                                        "shows the key in its storage (volunteer.key), or a new "
                                        "volunteer registers under another name (--name)",
                                        printable(v.name)));
  }
  const bool known = named != volunteer_ids_.end();
  id = known ? named->second : next_volunteer_++;
  v.id = id;
  v.last_seen = now;
  // What it lends now, in the state it was in (a new one: live), then live.
  v.state = known ? volunteers_.at(id).state : VolunteerState::live;
  VolunteerRecord& stored = volunteers_[id] = std::move(v);
  volunteer_ids_[stored.name] = id;
  told_interval_.erase(id);  // its registration's answer gives the groups' interval
  touched(stored);
  set_volunteer_state(stored, VolunteerState::live);
  // A volunteer that registers again was restarted: whatever it ran is gone.
  for (const std::int64_t g : std::vector<std::int64_t>(open_groups_.begin(), open_groups_.end())) {
    if (is_member(g, id)) {
      end_group_and_requeue(groups_.at(g),
                            fmt::format("volunteer {} restarted", printable(stored.name)), now);
    }
  }
  pending_.log.push_back(fmt::format("volunteer {} ({}) joined: {} CPUs, {} GPUs, {} bytes",
                                     printable(stored.name), stored.address, stored.cpus,
                                     stored.gpus, stored.memory));
  return take();
}

Applied PoolStateMachine::heartbeat(std::int64_t id, const Heartbeat& beat, double now,
                                    HeartbeatAnswer& answer) {
  const auto found = volunteers_.find(id);
  if (found == volunteers_.end() || found->second.state == VolunteerState::gone) {
    throw RequestError(404, fmt::format("no volunteer {}: register again", id));
  }
  VolunteerRecord& v = found->second;
  v.last_seen = now;  // soft: not committed for itself
  holdings_[id] = beat.holds;
  cached_inputs_[id] = std::set<std::string>(beat.inputs.begin(), beat.inputs.end());
  if (settings_.copies_to_hold > 0) {
    for (const auto& [job_id, steps] : beat.holds) {
      const auto job = jobs_.find(job_id);
      if (job != jobs_.end()) hold_copied(job->second, now);
    }
  }
  if (v.state == VolunteerState::lost) {
    // Heard from again (a network cut healed): its old groups were re-formed without it.
    set_volunteer_state(v, VolunteerState::live);
    pending_.log.push_back(fmt::format("volunteer {} is back", printable(v.name)));
  }
  // Groups the agent stopped on its own (it lost us for too long) are over;
  // only a member may say so of a group.
  for (const std::int64_t dropped : beat.dropped) {
    if (!is_member(dropped, id)) {
      pending_.log.push_back(
          fmt::format("refused: volunteer {} reported group {} dropped, but is not a member of it",
                      printable(v.name), dropped));
      continue;
    }
    GroupRecord& g = groups_.at(dropped);
    if (g.state != GroupState::ended) {
      end_group_and_requeue(g, fmt::format("volunteer {} stopped the group", printable(v.name)),
                            now);
    }
  }
  answer = {};
  for (const std::int64_t g : open_groups_) {
    if (is_member(g, id)) answer.groups.push_back(view_of(groups_.at(g), id, now));
  }
  // Jobs whose files the volunteer still keeps but no longer needs: over,
  // result made; of the others, the step held.
  for (const std::int64_t kept : beat.jobs) {
    const JobRecord* j = job(kept);
    if (j == nullptr || !j->active()) {
      answer.forget.push_back(kept);
    } else {
      answer.held[kept] = j->checkpoint.value_or(0);
    }
  }
  for (const GroupView& view : answer.groups) {
    if (view.job != nullptr) answer.held[view.job->id] = view.job->checkpoint.value_or(0);
  }
  // A group's members are watched closely; idle volunteers, most of a big
  // pool, cost the pool a fraction of it (and are given as much more silence).
  answer.next_interval =
      answer.groups.empty() && v.state == VolunteerState::live
          ? std::max(settings_.heartbeat_interval, settings_.idle_heartbeat_interval)
          : settings_.heartbeat_interval;
  told_interval_[id] = answer.next_interval;
  if (v.state == VolunteerState::leaving && answer.groups.empty()) {
    answer.may_leave = true;  // its uploads are done once it stops asking
    set_volunteer_state(v, VolunteerState::gone);
    pending_.log.push_back(fmt::format("volunteer {} left", printable(v.name)));
  }
  return take();
}

GroupView PoolStateMachine::view_of(const GroupRecord& g, std::int64_t asking, double now) const {
  GroupView view;
  view.group = g;
  view.job = job(g.job);
  bool all_ready = true;
  for (const MemberRecord& m : g.members) {
    const VolunteerRecord* v = volunteer(m.volunteer);
    if (v == nullptr) continue;
    all_ready = all_ready && m.ready;
    view.members.emplace_back(v, m.slots);
  }
  view.launch = g.state == GroupState::running && all_ready;
  if (g.state == GroupState::preparing && view.job != nullptr) {
    for (const std::string& input : input_digests(*view.job)) {
      std::vector<const VolunteerRecord*> holding;
      for (const auto& [id, v] : volunteers_) {
        const auto cached = cached_inputs_.find(id);
        if (id != asking && cached != cached_inputs_.end() && cached->second.contains(input) &&
            reachable(v, now)) {
          holding.push_back(&v);
        }
      }
      // Each asker starts elsewhere in the list, so that a large group's
      // members spread their fetches over the holders, not all on the first.
      std::vector<const VolunteerRecord*>& sources = view.input_sources[input];
      for (std::size_t i = 0; i < std::min(holding.size(), kMaxInputSources); ++i) {
        sources.push_back(holding[(static_cast<std::size_t>(asking) + i) % holding.size()]);
      }
    }
  }
  if (g.restore_step) {
    for (const auto& [id, v] : volunteers_) {
      if (id == asking || !reachable(v, now)) continue;
      const auto held = holdings_.find(id);
      if (held == holdings_.end()) continue;
      const auto steps = held->second.find(g.job);
      if (steps == held->second.end()) continue;
      const auto files = steps->second.find(*g.restore_step);
      if (files == steps->second.end()) continue;
      view.holders.emplace_back(&v, files->second);
    }
    if (const auto of_job = believed_.find(g.job); of_job != believed_.end()) {
      if (const auto manifest = of_job->second.find(*g.restore_step);
          manifest != of_job->second.end()) {
        view.restore_manifest_sha256 = manifest->second.sha256;
      }
    }
  }
  return view;
}

Applied PoolStateMachine::leave(std::int64_t id, double now, bool& may_leave) {
  const auto found = volunteers_.find(id);
  if (found == volunteers_.end()) throw RequestError(404, fmt::format("no volunteer {}", id));
  VolunteerRecord& v = found->second;
  if (v.state != VolunteerState::gone) set_volunteer_state(v, VolunteerState::leaving);
  bool busy = false;
  for (const std::int64_t gid :
       std::vector<std::int64_t>(open_groups_.begin(), open_groups_.end())) {
    if (!is_member(gid, id)) continue;
    GroupRecord& g = groups_.at(gid);
    if (g.state == GroupState::running) {
      g.drain = true;  // the head checkpoints and stops the group
      touched(g);
      note(g.job, "leave",
           fmt::format("volunteer {} is leaving: the group checkpoints and stops",
                       printable(v.name)),
           now);
      busy = true;
    } else {
      end_group_and_requeue(
          g, fmt::format("volunteer {} left before the group started", printable(v.name)), now);
    }
  }
  pending_.log.push_back(fmt::format("volunteer {} is leaving", printable(v.name)));
  may_leave = !busy;
  return take();
}

Applied PoolStateMachine::ready(std::int64_t group_id, std::int64_t volunteer, double /*now*/) {
  GroupRecord& g = group_or_404(group_id);
  for (MemberRecord& m : g.members) {
    if (m.volunteer == volunteer && !m.ready) {
      m.ready = true;
      touched(g);
    }
  }
  return take();
}

Applied PoolStateMachine::group_events(std::int64_t group_id, const GroupEvents& batch,
                                       double now) {
  GroupRecord& group = group_or_404(group_id);
  // A batch sent again because its answer was lost (the pool died after
  // committing it) is not applied twice.
  if (batch.batch) {
    if (*batch.batch <= group.events_batch) return take();
    group.events_batch = *batch.batch;
    touched(group);
  }
  JobRecord& job = job_or_404(group.job);
  bool changed = false;
  for (std::size_t i = 0; i < batch.lines.size(); ++i) {
    const std::string& line = batch.lines[i];
    // When the head read it; a clock far off ours is not believed.
    double at = batch.times[i].value_or(now);
    if (std::abs(at - now) > 60) at = now;
    const std::optional<nlohmann::json> event = parse_event_line(line);
    if (!event) {
      note(job.id, "output", line, at);
      continue;
    }
    const std::string kind = event->value("event", "");
    if (kind == "progress") {
      job.step = event->value("step", job.step);
      job.progress = event->value(
          "fraction",
          job.steps > 0 ? static_cast<double>(job.step) / static_cast<double>(job.steps) : 0.0);
      changed = true;
    } else if (kind == "start") {
      job.step = event->value("step", job.step);
      changed = true;
      note(job.id, kind,
           fmt::format("started at step {} on {} ranks", job.step, event->value("ranks", 0)), at);
    } else if (kind == "checkpoint") {
      job.step = std::max(job.step, event->value("step", job.step));
      segments_.written(job.id, event->value("step", std::int64_t{0}), group.id);
      changed = true;
      note(job.id, kind,
           fmt::format("checkpoint at step {} written by the group", event->value("step", 0)), at);
    } else if (kind == "warning" || kind == "error") {
      note(job.id, kind, event->value("message", event->dump()), at);
    } else {
      note(job.id, kind, event->dump(), at);
    }
  }
  if (changed && job.active()) touched(job);
  return take();
}

Applied PoolStateMachine::group_exit(std::int64_t group_id, const GroupExit& exit, double now) {
  GroupRecord& group = group_or_404(group_id);
  if (group.state == GroupState::ended)
    return take();  // already re-formed (a member was lost first)
  JobRecord& job = job_or_404(group.job);
  const bool ran = exit.outcome == GroupOutcome::done || exit.outcome == GroupOutcome::drained;
  if (ran && group.state != GroupState::running) {
    // No head starts mpirun before its group is launched: a step it claims is not believed.
    end_group_and_requeue(group,
                          fmt::format("group {} said it {} before it was launched", group.id,
                                      to_string(exit.outcome)),
                          now);
    return take();
  }
  if (exit.outcome == GroupOutcome::done) {
    end_group(group, "done", now);
    job.final_step = exit.step;
    job.step = exit.step;
    job.message = "collecting the final state from the volunteers";
    touched(job);
    set_job_state(job, JobState::finishing);
    note(job.id, "done", fmt::format("the group finished at step {}", exit.step), now);
    finish_if_ready(job);  // the final checkpoint may have arrived first
    return take();
  }
  if (exit.outcome == GroupOutcome::drained) {
    end_group_and_requeue(
        group, fmt::format("the group checkpointed and stopped at step {}", exit.step), now);
    if (job.active() && (!job.checkpoint || *job.checkpoint < exit.step)) {
      job.awaited_step = exit.step;
      job.awaited_since = now;
      touched(job);
    }
    stop_if_settled(job, now);
    return take();
  }
  if (exit.error_code != 0 && job_error_is_final(exit.error_code)) {
    end_group(group, "failed", now);
    job.message = exit.message.empty() ? fmt::format("the job failed with code {}", exit.error_code)
                                       : exit.message;
    touched(job);
    set_job_state(job, JobState::failed);
    note(job.id, "failed", job.message, now);
    return take();
  }
  const bool unprepared = exit.outcome == GroupOutcome::unprepared;
  if (unprepared && group.restore_step) {
    // Copies of it turned out missing or damaged: the next group tries an older one.
    ungatherable_[job.id].insert(*group.restore_step);
  }
  end_group_and_requeue(group,
                        unprepared ? "a volunteer could not prepare the group: " + exit.message
                                   : fmt::format("mpirun exited with status {}{}", exit.status,
                                                 exit.message.empty() ? "" : ": " + exit.message),
                        now);
  // A failure that recurs should not spin: wait longer each time, up to 10 s.
  not_before_[job.id] = now + std::min(10.0, 0.5 * static_cast<double>(job.restarts + 1));
  return take();
}

Applied PoolStateMachine::submit(JobRecord job, const GroupNeeds& needs,
                                 std::int64_t largest_rank_bytes, double now, std::int64_t& id) {
  std::vector<VolunteerRecord> known;
  for (const auto& [vid, v] : volunteers_) {
    if (v.state != VolunteerState::gone) known.push_back(v);
  }
  const std::string beyond = beyond_every_volunteer(needs, largest_rank_bytes, known);
  if (!beyond.empty()) throw RequestError(422, beyond);
  job.id = id = next_job_++;
  job.state = job.awaited_step ? JobState::importing : JobState::queued;
  job.message =
      job.awaited_step
          ? fmt::format("waiting for its checkpoint at step {} to be uploaded", *job.awaited_step)
          : "waiting for volunteers";
  job.awaited_since = now;
  job.submitted = now;
  JobRecord& stored = jobs_[id] = std::move(job);
  touched(stored);
  note(id, "submitted",
       fmt::format("{} ({}, {} steps) submitted by {}", stored.name, stored.kernel, stored.steps,
                   printable(stored.owner)),
       now);
  pending_.log.push_back(fmt::format("job {} ({}) submitted", id, stored.name));
  return take();
}

Applied PoolStateMachine::cancel(std::int64_t id, const std::string& by, double now) {
  JobRecord& job = job_or_404(id);
  if (!job.active()) return take();
  for (const std::int64_t g : std::vector<std::int64_t>(open_groups_.begin(), open_groups_.end())) {
    GroupRecord& group = groups_.at(g);
    if (group.job != id) continue;
    end_group(group, "cancelled", now);
  }
  job.message = "cancelled by " + printable(by);
  touched(job);
  set_job_state(job, JobState::cancelled);
  note(id, "cancelled", "cancelled; its volunteers stop its processes", now);
  return take();
}

Applied PoolStateMachine::stop(std::int64_t id, const std::string& by, double now) {
  JobRecord& job = job_or_404(id);
  switch (job.state) {
    case JobState::importing:
      throw RequestError(409, fmt::format("job {} is still receiving its checkpoint: cancel it "
                                          "instead",
                                          id));
    case JobState::finishing:
      throw RequestError(409,
                         fmt::format("job {} is finishing: fetch its result once it is done", id));
    case JobState::queued:
    case JobState::starting:
      for (const std::int64_t g :
           std::vector<std::int64_t>(open_groups_.begin(), open_groups_.end())) {
        GroupRecord& group = groups_.at(g);
        if (group.job == id) end_group(group, "stopped before it started", now);
      }
      job.awaited_step.reset();
      job.message = "stopped by " + printable(by);
      touched(job);
      set_job_state(job, JobState::stopped);
      note(id, "stopped",
           job.checkpoint ? fmt::format("stopped at its checkpoint at step {}", *job.checkpoint)
                          : std::string("stopped before its first checkpoint"),
           now);
      return take();
    case JobState::running:
      for (const std::int64_t g : open_groups_) {
        GroupRecord& group = groups_.at(g);
        if (group.job != id) continue;
        group.drain = true;  // the head checkpoints and stops the group
        touched(group);
      }
      job.message = "stopping for " + printable(by) + ": the group checkpoints and stops";
      touched(job);
      set_job_state(job, JobState::stopping);
      note(id, "stop", "stopping: the group checkpoints and stops", now);
      return take();
    case JobState::stopping:
    case JobState::stopped:
    case JobState::done:
    case JobState::failed:
    case JobState::cancelled:
      return take();
  }
  return take();
}

void PoolStateMachine::imported(JobRecord& job, const CheckpointArrival& arrival, double now) {
  if (!job.awaited_step || arrival.step != *job.awaited_step) return;
  if (!arrival.problem.empty()) {
    // What the scientist sent is not this job's checkpoint (or is damaged):
    // the job cannot start where it says, and says why.
    job.message = fmt::format("its checkpoint {} was refused: {}",
                              checkpoint_dir_name(arrival.step), arrival.problem);
    touched(job);
    set_job_state(job, JobState::failed);
    note(job.id, "failed", job.message, now);
    return;
  }
  if (!arrival.complete) return;
  job.awaited_step.reset();
  job.checkpoint = arrival.step;
  job.step = arrival.step;
  job.message = "waiting for volunteers";
  touched(job);
  set_job_state(job, JobState::queued);
  note(job.id, "stored",
       fmt::format("checkpoint at step {} arrived whole and is held by the pool", arrival.step),
       now);
  // A pool of replicas: held on a second one too.
  if (settings_.copies_to_hold > 0)
    pending_.effects.push_back(CopyCheckpoint{job.id, arrival.step});
}

Applied PoolStateMachine::annotate(std::int64_t id, const std::string& by, const std::string& text,
                                   double now) {
  job_or_404(id);
  note(id, "note", fmt::format("{} (by {})", printable(text), printable(by)), now);
  return take();
}

void PoolStateMachine::stop_if_settled(JobRecord& job, double now) {
  if (job.state != JobState::stopping) return;
  for (const std::int64_t g : open_groups_) {
    if (groups_.at(g).job == job.id) return;  // still draining
  }
  const bool held = !job.awaited_step || (job.checkpoint && *job.checkpoint >= *job.awaited_step);
  if (!held && now - job.awaited_since < settings_.await_drained_checkpoint) return;
  job.awaited_step.reset();
  job.message = job.checkpoint
                    ? fmt::format("stopped at its checkpoint at step {}", *job.checkpoint)
                    : std::string("stopped before its first checkpoint");
  touched(job);
  set_job_state(job, JobState::stopped);
  note(job.id, "stopped", job.message, now);
}

Applied PoolStateMachine::checkpoint_arrived(const CheckpointArrival& arrival, double now) {
  JobRecord& job = job_or_404(arrival.job);
  if (!arrival.problem.empty()) {
    note(job.id, "warning",
         fmt::format("{} arrived corrupt and was discarded: {}", checkpoint_dir_name(arrival.step),
                     arrival.problem),
         now);
  }
  in_vault_[job.id][arrival.step] =
      std::set<std::string>(arrival.files.begin(), arrival.files.end());
  if (arrival.complete) {
    whole_in_vault_[job.id].insert(arrival.step);
    digest_if_due(job.id, arrival.step);  // held before the vault had it (copies on volunteers)
  }
  if (!arrival.shards.empty()) {
    believe({job.id, arrival.step, arrival.shards, arrival.manifest_sha256});
  }
  if (job.state == JobState::importing) {
    imported(job, arrival, now);
    return take();
  }
  if (settings_.copies_to_hold > 0) {
    hold_copied(job, now);
    // The leader's vault and a second replica: held with one volunteer's copy.
    const ManifestRecord* manifest = believed_manifest(job.id, arrival.step);
    if (arrival.complete && job.active() && manifest != nullptr && manifest->replicas.size() < 2 &&
        !(job.checkpoint && arrival.step <= *job.checkpoint)) {
      pending_.effects.push_back(CopyCheckpoint{job.id, arrival.step});
    }
  } else if (arrival.complete) {
    hold(job, arrival.step, now);
  }
  finish_if_ready(job);
  stop_if_settled(job, now);
  return take();
}

Applied PoolStateMachine::checkpoint_on_replicas(std::int64_t id, std::int64_t step,
                                                 const std::vector<std::string>& replicas,
                                                 double now) {
  JobRecord& job = job_or_404(id);
  const auto of_job = believed_.find(id);
  if (of_job == believed_.end() || !of_job->second.count(step)) return take();  // pruned meanwhile
  ManifestRecord* known = &of_job->second.at(step);
  bool news = false;
  for (const std::string& replica : replicas) {
    if (std::find(known->replicas.begin(), known->replicas.end(), replica) ==
        known->replicas.end()) {
      known->replicas.push_back(replica);
      news = true;
    }
  }
  if (news) {
    drop_pending_manifest(id, step);  // one change per key
    pending_.changes.manifests.push_back(*known);
  }
  hold_copied(job, now);
  return take();
}

const ManifestRecord* PoolStateMachine::believed_manifest(std::int64_t job,
                                                          std::int64_t step) const {
  const auto of_job = believed_.find(job);
  if (of_job == believed_.end()) return nullptr;
  const auto found = of_job->second.find(step);
  return found == of_job->second.end() ? nullptr : &found->second;
}

void PoolStateMachine::hold(JobRecord& job, std::int64_t step, double now) {
  if (!job.active() || (job.checkpoint && step <= *job.checkpoint)) return;
  record_segment(job, step, now);
  job.checkpoint = step;
  forget_manifests_before(job.id, step);
  touched(job);
  note(job.id, "stored", fmt::format("checkpoint at step {} is held by the pool", step), now);
  pending_.effects.push_back(PruneCheckpoints{job.id, step, settings_.keep_checkpoints});
}

void PoolStateMachine::record_segment(const JobRecord& job, std::int64_t step, double now) {
  SegmentRecord segment{job.id, job.checkpoint.value_or(0), step, 0, {}, now, {}};
  if (const std::optional<std::int64_t> writer = segments_.writer(job.id, step)) {
    segment.group = *writer;
  } else {
    // A restarted pool has not heard who wrote it: the newest group that
    // started before it did (any older one was over before this one began).
    for (const GroupRecord* g : groups_of_job(job.id)) {
      if (g->restore_step.value_or(0) < step) segment.group = g->id;
    }
  }
  if (const GroupRecord* g = group(segment.group)) {
    for (const MemberRecord& m : g->members)
      segment.shares.push_back({m.volunteer, m.slots});
  }
  segments_.forget_writers_up_to(job.id, step);
  pending_.changes.segments.push_back(segments_.keep(std::move(segment)));
  digest_if_due(job.id, step);
}

void PoolStateMachine::digest_if_due(std::int64_t job, std::int64_t step) {
  const SegmentRecord* segment = segments_.find(job, step);
  if (segment == nullptr || !segment->digest.empty() || !vault_holds(job, step)) return;
  pending_.effects.push_back(DigestCheckpoint{job, step});
}

Applied PoolStateMachine::checkpoint_digested(std::int64_t job_id, std::int64_t step,
                                              const std::string& digest, double now) {
  const JobRecord& job = job_or_404(job_id);
  SegmentRecord* segment = segments_.find(job_id, step);
  if (segment == nullptr || segment->digest == digest) return take();
  if (!segment->digest.empty()) {
    // The vault's copy was verified whole both times: something changed it.
    note(job.id, "warning",
         fmt::format("{} digested as {}, not the {} found before: the earlier one is kept",
                     checkpoint_dir_name(step), digest, segment->digest),
         now);
    return take();
  }
  segment->digest = digest;
  pending_.changes.segments.push_back(*segment);
  note(job.id, "segment",
       fmt::format("steps [{}, {}) by group {}: {}", segment->first_step, segment->last_step,
                   segment->group, digest),
       now);
  return take();
}

void PoolStateMachine::hold_copied(JobRecord& job, double now) {
  const auto believed = believed_.find(job.id);
  if (believed == believed_.end()) return;
  for (auto entry = believed->second.rbegin(); entry != believed->second.rend(); ++entry) {
    const auto& [step, manifest] = *entry;
    if (job.checkpoint && step <= *job.checkpoint) return;
    std::map<std::string, int> copies;
    for (const auto& [id, holdings] : holdings_) {
      const VolunteerRecord* v = volunteer(id);
      if (v == nullptr || !reachable(*v, now)) continue;
      const auto steps = holdings.find(job.id);
      if (steps == holdings.end()) continue;
      if (const auto files = steps->second.find(step); files != steps->second.end()) {
        for (const std::string& file : files->second)
          ++copies[file];
      }
    }
    // What is left after losing the volunteer and the replica holding most:
    // one copy of each kind, where there is one.
    const auto left = [](int n) { return std::max(n - 1, 0); };
    const int on_replicas = static_cast<int>(manifest.replicas.size());
    const bool copied =
        std::all_of(manifest.shards.begin(), manifest.shards.end(), [&](const std::string& shard) {
          return left(copies[shard]) + left(on_replicas) >= settings_.copies_to_hold - 1;
        });
    if (copied) {
      hold(job, step, now);
      return;
    }
  }
}

Applied PoolStateMachine::checkpoints_removed(std::int64_t job,
                                              const std::vector<std::int64_t>& steps,
                                              double /*now*/) {
  for (const std::int64_t step : steps) {
    forget_manifest(job, step);
    in_vault_[job].erase(step);
    whole_in_vault_[job].erase(step);
  }
  return take();
}

void PoolStateMachine::believe(ManifestRecord manifest) {
  auto& of_job = believed_[manifest.job];
  const auto known = of_job.find(manifest.step);
  if (known != of_job.end() && known->second.sha256 == manifest.sha256 &&
      known->second.shards == manifest.shards) {
    return;
  }
  // One change per key: etcd refuses a transaction that names a key twice.
  drop_pending_manifest(manifest.job, manifest.step);
  pending_.changes.manifests.push_back(manifest);
  of_job.insert_or_assign(manifest.step, std::move(manifest));
}

void PoolStateMachine::drop_pending_manifest(std::int64_t job, std::int64_t step) {
  std::erase_if(pending_.changes.manifests,
                [&](const ManifestRecord& m) { return m.job == job && m.step == step; });
}

void PoolStateMachine::forget_manifest(std::int64_t job, std::int64_t step) {
  const auto of_job = believed_.find(job);
  if (of_job == believed_.end() || of_job->second.erase(step) == 0) return;
  drop_pending_manifest(job, step);
  pending_.changes.manifests_forgotten.push_back({job, step});
}

void PoolStateMachine::forget_manifests_before(std::int64_t job, std::int64_t newest) {
  const auto of_job = believed_.find(job);
  if (of_job == believed_.end()) return;
  std::vector<std::int64_t> old;
  std::int64_t kept = 0;
  for (auto entry = of_job->second.rbegin(); entry != of_job->second.rend(); ++entry) {
    if (entry->first > newest) continue;  // still arriving
    if (++kept > std::max<std::int64_t>(settings_.keep_checkpoints, 1)) old.push_back(entry->first);
  }
  for (const std::int64_t step : old)
    forget_manifest(job, step);
}

bool PoolStateMachine::result_ready(const JobRecord& job) const {
  // The result is merged from the vault's copy.
  return job.state == JobState::finishing && job.final_step && vault_holds(job.id, *job.final_step);
}

void PoolStateMachine::finish_if_ready(JobRecord& job) {
  if (!result_ready(job)) return;
  pending_.effects.push_back(WriteResult{job.id, *job.final_step});
}

std::vector<PoolEffect> PoolStateMachine::pending_effects() const {
  std::vector<PoolEffect> effects;
  for (const auto& [id, job] : jobs_) {
    if (result_ready(job)) {
      effects.push_back(WriteResult{id, *job.final_step});
    }
  }
  return effects;
}

Applied PoolStateMachine::result_written(std::int64_t id, const std::string& results, double now) {
  JobRecord& job = job_or_404(id);
  if (job.state != JobState::finishing) return take();  // cancelled meanwhile
  if (job.final_step && (!job.checkpoint || *job.checkpoint < *job.final_step)) {
    // A pool of replicas did not hold the final state on volunteers' copies
    // (a group of one never could): its result on two replicas is the proof.
    record_segment(job, *job.final_step, now);
    job.checkpoint = job.final_step;
  }
  job.results = results;
  job.message = "the result is ready: spare fetch " + std::to_string(id) + " DIR";
  job.progress = 1.0;
  touched(job);
  set_job_state(job, JobState::done);
  note(id, "result", "result.h5 written from the final checkpoint", now);
  pending_.log.push_back(fmt::format("job {} ({}) is done", id, job.name));
  return take();
}

void PoolStateMachine::end_group_and_requeue(GroupRecord& group, const std::string& why,
                                             double now) {
  end_group(group, why, now);
  JobRecord& job = job_or_404(group.job);
  if (!job.active() || job.state == JobState::finishing) return;
  if (job.state == JobState::stopping) {
    note(job.id, "stop", why, now);
    return;  // not re-formed: stopped once the drained checkpoint is held (stop_if_settled)
  }
  ++job.restarts;
  touched(job);
  if (job.restarts > settings_.max_restarts) {
    job.message = fmt::format("given up after {} restarts; the last: {}", job.restarts - 1, why);
    set_job_state(job, JobState::failed);
  } else {
    job.message = "re-forming a group: " + why;
    set_job_state(job, JobState::queued);
  }
  note(job.id, "restart", why, now);
  pending_.log.push_back(fmt::format("job {}: {}", job.id, why));
}

Applied PoolStateMachine::tick(double now) {
  // The pool itself was away (stopped, suspended, starved): nobody was heard
  // because nobody listened. Every volunteer gets a full timeout again.
  if (last_tick_ > 0 && now - last_tick_ > settings_.heartbeat_timeout) {
    pending_.log.push_back(
        fmt::format("the pool did not run for {:.1f} s: every volunteer gets {:.1f} s to be "
                    "heard from again",
                    now - last_tick_, settings_.heartbeat_timeout));
    for (auto& [id, v] : volunteers_) {
      if (heartbeats(v.state)) v.last_seen = std::max(v.last_seen, now);
    }
  }
  last_tick_ = now;
  for (auto& [id, v] : volunteers_) {
    if (heartbeats(v.state) && now - v.last_seen > silence_allowed(id)) {
      pending_.log.push_back(fmt::format("volunteer {} lost: silent for {:.1f} s",
                                         printable(v.name), now - v.last_seen));
      set_volunteer_state(v, VolunteerState::lost);
    }
  }
  for (const std::int64_t gid :
       std::vector<std::int64_t>(open_groups_.begin(), open_groups_.end())) {
    GroupRecord& g = groups_.at(gid);
    JobRecord& job = job_or_404(g.job);
    if (!job.active()) {
      end_group(g, fmt::format("the job is {}", to_string(job.state)), now);
      continue;
    }
    std::string lost;
    bool all_ready = true;
    for (const MemberRecord& m : g.members) {
      const VolunteerRecord* v = volunteer(m.volunteer);
      if (v == nullptr || !heartbeats(v->state)) {
        lost = v ? v->name : std::to_string(m.volunteer);
      }
      all_ready = all_ready && m.ready;
    }
    if (!lost.empty()) {
      end_group_and_requeue(g, fmt::format("volunteer {} was lost", printable(lost)), now);
    } else if (g.state == GroupState::preparing && all_ready) {
      launch_group(g);
      note(g.job, "launch",
           fmt::format("group {}: every volunteer is ready; its head starts mpirun", g.id), now);
      job.message = fmt::format("running on {} ranks", g.ranks);
      touched(job);
      set_job_state(job, JobState::running);
    }
  }
  for (auto& [id, job] : jobs_)
    stop_if_settled(job, now);
  form_groups(now);
  return take();
}

void PoolStateMachine::form_groups(double now) {
  std::set<std::int64_t> busy;
  for (const std::int64_t g : open_groups_) {
    for (const MemberRecord& m : groups_.at(g).members)
      busy.insert(m.volunteer);
  }
  std::vector<VolunteerRecord> free;
  for (const auto& [id, v] : volunteers_) {
    if (v.state == VolunteerState::live && !busy.count(id) &&
        now - v.last_seen <= silence_allowed(id)) {
      free.push_back(v);
    }
  }
  for (auto& [id, job] : jobs_) {
    if (job.state != JobState::queued) continue;
    if (auto wait = not_before_.find(id); wait != not_before_.end() && now < wait->second) {
      continue;
    }
    if (job.awaited_step) {
      // Its volunteers are still uploading the drained checkpoint; give them a while.
      const bool held = job.checkpoint && *job.checkpoint >= *job.awaited_step;
      if (!held && now - job.awaited_since < settings_.await_drained_checkpoint) continue;
      job.awaited_step.reset();
      touched(job);
    }
    if (job.checkpoint && now < resent_deadline_) {
      // A new leader: its vault has none of what its predecessor was sent,
      // and until the volunteers' heartbeats say what they hold, the held
      // checkpoint may look ungatherable.
      const std::optional<std::int64_t> gatherable = restore_point(id, now);
      if (!gatherable || *gatherable < *job.checkpoint) continue;
    }
    const GroupPlan plan = plan_group(
        {job.ranks, job.state_bytes, job.device == to_string(DeviceRequest::cuda)}, free);
    if (!plan.waiting.empty()) {
      if (job.message != plan.waiting && !job.message.starts_with("re-forming")) {
        job.message = plan.waiting;
        touched(job);
      }
      continue;
    }
    GroupRecord group;
    group.id = next_group_++;
    group.members = plan.members;
    group.job = id;
    group.head = group.members.front().volunteer;
    group.ranks = plan.ranks;
    group.restore_step = restore_point(id, now);
    group.state = GroupState::preparing;
    group.created = now;
    std::vector<std::string> names;
    for (const MemberRecord& m : group.members) {
      auto used = std::find_if(free.begin(), free.end(),
                               [&](const VolunteerRecord& v) { return v.id == m.volunteer; });
      names.push_back(fmt::format("{}:{}", printable(used->name), m.slots));
      free.erase(used);
    }
    job.message =
        fmt::format("forming a group of {} ranks on {}", group.ranks, fmt::join(names, ", "));
    note(id, "group",
         fmt::format("group {}: {} ranks on {}, {}", group.id, group.ranks, fmt::join(names, ", "),
                     restore_description(group.restore_step, job.checkpoint)),
         now);
    touched(job);
    set_job_state(job, JobState::starting);
    const std::int64_t gid = group.id;
    groups_.emplace(gid, std::move(group));
    open_groups_.insert(gid);
    touched(groups_.at(gid));
  }
}

std::vector<CheckpointPlaces> PoolStateMachine::checkpoint_places(std::int64_t job) const {
  std::vector<CheckpointPlaces> places;
  const auto believed = believed_.find(job);
  if (believed == believed_.end()) return places;
  const auto vault = in_vault_.find(job);
  for (const auto& [step, manifest] : believed->second) {
    const std::vector<std::string>& shards = manifest.shards;
    CheckpointPlaces place{step, shards, {}, {}, manifest.replicas};
    if (vault != in_vault_.end()) {
      if (const auto held = vault->second.find(step); held != vault->second.end()) {
        for (const std::string& shard : shards) {
          if (held->second.count(shard)) place.in_pool.insert(shard);
        }
      }
    }
    for (const auto& [id, holdings] : holdings_) {
      const VolunteerRecord* v = volunteer(id);
      const auto steps = holdings.find(job);
      if (v == nullptr || steps == holdings.end()) continue;
      if (const auto files = steps->second.find(step); files != steps->second.end()) {
        for (const std::string& shard : shards) {
          if (files->second.count(shard)) place.on_volunteers[v->name].insert(shard);
        }
      }
    }
    places.push_back(std::move(place));
  }
  return places;
}

}  // namespace spare::pool
