// The pool's records as JSON objects: the form they take as values in etcd.
// Every member is written; reading checks each one's type and a state's word,
// and throws spare::Error naming the record and the member, so a value
// written by another version or by hand is refused, not half-read.
#pragma once

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "pool_store.hpp"

namespace spare::pool {

nlohmann::json to_json(const VolunteerRecord& volunteer);
nlohmann::json to_json(const JobRecord& job);
nlohmann::json to_json(const GroupRecord& group);  // with its members
nlohmann::json to_json(const TokenRecord& token);
nlohmann::json to_json(const InputRecord& input);
nlohmann::json to_json(const ManifestRecord& manifest);
nlohmann::json to_json(const SegmentRecord& segment);
nlohmann::json to_json(const EventRecord& event);

/// The SHA-256 of each of a job's inputs (JobRecord::inputs); none if that
/// is not the JSON object a submission makes.
std::set<std::string> input_digests(const JobRecord& job);

/// `where` names the value in messages (its etcd key).
VolunteerRecord volunteer_from_json(const nlohmann::json& value, const std::string& where);
JobRecord job_from_json(const nlohmann::json& value, const std::string& where);
GroupRecord group_from_json(const nlohmann::json& value, const std::string& where);
TokenRecord token_from_json(const nlohmann::json& value, const std::string& where);
InputRecord input_from_json(const nlohmann::json& value, const std::string& where);
ManifestRecord manifest_from_json(const nlohmann::json& value, const std::string& where);
SegmentRecord segment_from_json(const nlohmann::json& value, const std::string& where);
EventRecord event_from_json(const nlohmann::json& value, const std::string& where);

}  // namespace spare::pool
