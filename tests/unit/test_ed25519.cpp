// Ed25519 against RFC 8032's test vectors, its key files, and signed tree
// heads: what a wrong key, an altered head or malformed JSON does.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "ed25519_key.hpp"
#include "merkle_tree.hpp"
#include "signed_tree_head.hpp"
#include "spare/atomic_file.hpp"
#include "spare/error.hpp"
#include "support/checkpoint_error_of.hpp"
#include "support/temp_dir.hpp"

namespace spare::ledger {
namespace {

using spare::testing::error_of;

struct TestVector {
  const char* name;
  const char* secret_key;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 §7.1: TEST 1, TEST 2, TEST 3 and TEST SHA(abc), whose message is SHA-512("abc").
const TestVector rfc8032_vectors[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d8"
     "c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc"
     "65"
     "94a7c15e9716ed28dc027beceea1ec40a"},
    {"TEST SHA(abc)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3fee"
     "b"
     "bd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e"
     "03"
     "03dca179c138ac17ad9bef1177331a704"},
};

template <class Bytes>
Bytes with_bit_flipped(Bytes bytes, std::size_t bit) {
  bytes[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
  return bytes;
}

Ed25519Key key_of_vector(const TestVector& vector) {
  return Ed25519Key::from_private_bytes(bytes_from_hex(vector.secret_key));
}

mode_t permissions_of(const std::filesystem::path& path) {
  struct stat status {};
  EXPECT_EQ(::stat(path.c_str(), &status), 0) << path;
  return status.st_mode & 07777;
}

TEST(Ed25519, KeysAndSignaturesMatchTheTestVectorsOfRfc8032) {
  for (const TestVector& vector : rfc8032_vectors) {
    SCOPED_TRACE(vector.name);
    const Ed25519Key key = key_of_vector(vector);
    const std::vector<std::uint8_t> message = bytes_from_hex(vector.message);
    EXPECT_EQ(to_hex(key.public_key()), vector.public_key);
    const Ed25519Signature signature = key.sign(message);
    EXPECT_EQ(to_hex(signature), vector.signature);
    EXPECT_TRUE(ed25519_verify(bytes_from_hex(vector.public_key), message,
                               bytes_from_hex(vector.signature)));
  }
}

TEST(Ed25519, AFlippedBitInTheMessageSignatureOrKeyFailsVerification) {
  for (const TestVector& vector : rfc8032_vectors) {
    SCOPED_TRACE(vector.name);
    const std::vector<std::uint8_t> public_key = bytes_from_hex(vector.public_key);
    const std::vector<std::uint8_t> message = bytes_from_hex(vector.message);
    const std::vector<std::uint8_t> signature = bytes_from_hex(vector.signature);
    for (std::size_t bit = 0; bit < 8 * message.size(); ++bit) {
      EXPECT_FALSE(ed25519_verify(public_key, with_bit_flipped(message, bit), signature))
          << "message bit " << bit;
    }
    std::vector<std::uint8_t> longer = message;
    longer.push_back(0);
    EXPECT_FALSE(ed25519_verify(public_key, longer, signature));
    for (std::size_t bit = 0; bit < 8 * signature.size(); ++bit) {
      EXPECT_FALSE(ed25519_verify(public_key, message, with_bit_flipped(signature, bit)))
          << "signature bit " << bit;
    }
    for (std::size_t bit = 0; bit < 8 * public_key.size(); ++bit) {
      EXPECT_FALSE(ed25519_verify(with_bit_flipped(public_key, bit), message, signature))
          << "public key bit " << bit;
    }
  }
}

TEST(Ed25519, AnotherKeysSignatureFails) {
  const Ed25519Key signer = key_of_vector(rfc8032_vectors[0]);
  const Ed25519Key other = key_of_vector(rfc8032_vectors[1]);
  const std::vector<std::uint8_t> message = bytes_from_hex("0123456789");
  EXPECT_TRUE(ed25519_verify(signer.public_key(), message, signer.sign(message)));
  EXPECT_FALSE(ed25519_verify(other.public_key(), message, signer.sign(message)));
}

TEST(Ed25519, GeneratedKeysAreNewAndWork) {
  const Ed25519Key first = Ed25519Key::generate();
  const Ed25519Key second = Ed25519Key::generate();
  EXPECT_NE(first.public_key(), second.public_key());
  const std::vector<std::uint8_t> message = bytes_from_hex("cafe");
  EXPECT_TRUE(ed25519_verify(first.public_key(), message, first.sign(message)));
  EXPECT_FALSE(ed25519_verify(second.public_key(), message, first.sign(message)));
}

TEST(Ed25519, WrongSizesAreErrorsNotCrashes) {
  const std::vector<std::uint8_t> short_seed(31), long_seed(33);
  EXPECT_EQ(error_of([&] { Ed25519Key::from_private_bytes(short_seed); }),
            "an Ed25519 private key is 32 bytes, not 31");
  EXPECT_EQ(error_of([&] { Ed25519Key::from_private_bytes(long_seed); }),
            "an Ed25519 private key is 32 bytes, not 33");
  EXPECT_EQ(error_of([] { Ed25519Key::from_private_bytes({}); }),
            "an Ed25519 private key is 32 bytes, not 0");

  const TestVector& vector = rfc8032_vectors[1];
  const std::vector<std::uint8_t> public_key = bytes_from_hex(vector.public_key);
  const std::vector<std::uint8_t> message = bytes_from_hex(vector.message);
  const std::vector<std::uint8_t> signature = bytes_from_hex(vector.signature);
  const std::vector<std::uint8_t> short_key(public_key.begin(), public_key.end() - 1);
  const std::vector<std::uint8_t> short_signature(signature.begin(), signature.end() - 1);
  std::vector<std::uint8_t> long_signature = signature;
  long_signature.push_back(0);
  EXPECT_EQ(error_of([&] { ed25519_verify(short_key, message, signature); }),
            "an Ed25519 public key is 32 bytes, not 31");
  EXPECT_EQ(error_of([&] { ed25519_verify(public_key, message, short_signature); }),
            "an Ed25519 signature is 64 bytes, not 63");
  EXPECT_EQ(error_of([&] { ed25519_verify(public_key, message, long_signature); }),
            "an Ed25519 signature is 64 bytes, not 65");
}

TEST(Ed25519, AKeyMovedFromCannotBeUsed) {
  Ed25519Key key = key_of_vector(rfc8032_vectors[0]);
  const Ed25519Key moved = std::move(key);
  EXPECT_EQ(to_hex(moved.public_key()), rfc8032_vectors[0].public_key);
  EXPECT_EQ(error_of([&] { (void)key.public_key(); }),  // NOLINT(bugprone-use-after-move)
            "an Ed25519Key was used after it was moved from");
}

TEST(Ed25519, ASavedKeyLoadsBackAndOnlyItsOwnerCanReadIt) {
  const testing::TempDir dir;
  const auto path = dir / "ledger.key";
  // An older file of lax mode is replaced, not reused.
  write_file_atomically(path, "old contents", 0644);
  const Ed25519Key key = key_of_vector(rfc8032_vectors[2]);
  key.save(path);
  EXPECT_EQ(permissions_of(path), 0600u);
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  EXPECT_EQ(read_file_text(path).rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);

  const Ed25519Key loaded = Ed25519Key::load(path);
  EXPECT_EQ(loaded.public_key(), key.public_key());
  const std::vector<std::uint8_t> message = bytes_from_hex(rfc8032_vectors[2].message);
  EXPECT_EQ(to_hex(loaded.sign(message)), rfc8032_vectors[2].signature);

  const Ed25519Key generated = Ed25519Key::generate();
  generated.save(path);
  EXPECT_EQ(permissions_of(path), 0600u);
  EXPECT_EQ(Ed25519Key::load(path).public_key(), generated.public_key());
}

// A PEM file of some other key, written with OpenSSL directly.
void save_other_key(const std::filesystem::path& path, const char* type, const char* parameter,
                    const char* passphrase) {
  const std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      parameter ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, parameter)
                : EVP_PKEY_Q_keygen(nullptr, nullptr, type),
      EVP_PKEY_free);
  ASSERT_TRUE(key);
  const std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(BIO_new(BIO_s_mem()), BIO_free_all);
  ASSERT_TRUE(bio);
  const int written =
      passphrase
          ? PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(), nullptr, 0,
                                          nullptr, const_cast<char*>(passphrase))
          : PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  ASSERT_EQ(written, 1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  write_file_atomically(path, std::string(data, static_cast<std::size_t>(size)), 0600);
}

TEST(Ed25519, LoadingAFileThatIsNotAnEd25519KeyIsAClearError) {
  const testing::TempDir dir;
  const auto missing = dir / "missing.key";
  EXPECT_THROW(Ed25519Key::load(missing), SystemError);
  EXPECT_NE(error_of([&] { Ed25519Key::load(missing); }).find(missing.string()), std::string::npos);

  const auto garbage = dir / "garbage.key";
  write_file_atomically(garbage, "not a key\n", 0600);
  EXPECT_EQ(error_of([&] {
              Ed25519Key::load(garbage);
            }).rfind(garbage.string() + " is not an unencrypted PEM private key: ", 0),
            0u);

  const auto ec = dir / "ec.key";
  save_other_key(ec, "EC", "P-256", nullptr);
  EXPECT_EQ(error_of([&] { Ed25519Key::load(ec); }),
            ec.string() + " holds an EC key, not an Ed25519 key");

  // Refused, never a prompt for the passphrase on the terminal.
  const auto encrypted = dir / "encrypted.key";
  save_other_key(encrypted, "ED25519", nullptr, "secret");
  EXPECT_EQ(error_of([&] {
              Ed25519Key::load(encrypted);
            }).rfind(encrypted.string() + " is not an unencrypted PEM private key: ", 0),
            0u);
}

// A tree head over a real tree, signed with TEST 1's key.
struct SignedHeadFixture {
  Ed25519Key key = key_of_vector(rfc8032_vectors[0]);
  TreeHead head;
  SignedTreeHead sth;

  SignedHeadFixture() {
    MerkleTree tree;
    for (const char* entry : {"checkpoint 1", "checkpoint 2", "checkpoint 3"}) {
      tree.append(leaf_hash(bytes_of(entry)));
    }
    head = {tree.size(), 1'700'000'000'123, tree.root()};
    sth = sign_tree_head(key, head);
  }
};

TEST(SignedTreeHead, TheSignedBytesHaveOneFixedLayout) {
  TreeHead head{0x0102030405060708, 0x1112131415161718, {}};
  for (std::size_t i = 0; i < head.root.size(); ++i)
    head.root[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(to_hex(tree_head_signed_bytes(head)),
            to_hex(bytes_of(std::string_view("spare-tree-head-v1\0", 19))) + "0102030405060708" +
                "1112131415161718" +
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  EXPECT_EQ(tree_head_signed_size, 67u);
}

TEST(SignedTreeHead, ASignedHeadVerifiesWithItsKeyAndNoOther) {
  const SignedHeadFixture fixture;
  EXPECT_EQ(fixture.sth.head, fixture.head);
  EXPECT_TRUE(verify_tree_head(fixture.key.public_key(), fixture.sth));
  EXPECT_FALSE(verify_tree_head(key_of_vector(rfc8032_vectors[1]).public_key(), fixture.sth));
  EXPECT_FALSE(verify_tree_head(Ed25519Key::generate().public_key(), fixture.sth));
}

TEST(SignedTreeHead, AHeadAlteredAfterSigningFails) {
  const SignedHeadFixture fixture;
  const Ed25519PublicKey public_key = fixture.key.public_key();
  const auto altered = [&](const std::function<void(SignedTreeHead&)>& change) {
    SignedTreeHead sth = fixture.sth;
    change(sth);
    return sth;
  };
  EXPECT_FALSE(verify_tree_head(public_key, altered([](auto& s) { ++s.head.tree_size; })));
  EXPECT_FALSE(verify_tree_head(public_key, altered([](auto& s) { --s.head.tree_size; })));
  EXPECT_FALSE(verify_tree_head(public_key, altered([](auto& s) { ++s.head.timestamp_ms; })));
  EXPECT_FALSE(verify_tree_head(public_key, altered([](auto& s) { s.head.timestamp_ms = 0; })));
  for (std::size_t bit = 0; bit < 8 * hash_size; ++bit) {
    EXPECT_FALSE(verify_tree_head(
        public_key, altered([bit](auto& s) { s.head.root = with_bit_flipped(s.head.root, bit); })))
        << "root bit " << bit;
  }
  for (std::size_t bit = 0; bit < 8 * ed25519_signature_size; bit += 7) {
    EXPECT_FALSE(verify_tree_head(
        public_key, altered([bit](auto& s) { s.signature = with_bit_flipped(s.signature, bit); })))
        << "signature bit " << bit;
  }
}

TEST(SignedTreeHead, JsonRoundTrips) {
  const SignedHeadFixture fixture;
  const nlohmann::json value = to_json(fixture.sth);
  EXPECT_EQ(value.at("tree_size"), 3u);
  EXPECT_EQ(value.at("timestamp_ms"), 1'700'000'000'123u);
  EXPECT_EQ(value.at("root"), to_hex(fixture.head.root));
  EXPECT_EQ(value.at("signature"), to_hex(fixture.sth.signature));
  EXPECT_EQ(value.size(), 4u);

  const SignedTreeHead read = parse_signed_tree_head(value.dump(), "in a test");
  EXPECT_EQ(read, fixture.sth);
  EXPECT_TRUE(verify_tree_head(fixture.key.public_key(), read));

  // The largest sizes and times survive, as integers.
  SignedTreeHead extreme = fixture.sth;
  extreme.head.tree_size = UINT64_MAX;
  extreme.head.timestamp_ms = UINT64_MAX;
  EXPECT_EQ(parse_signed_tree_head(to_json(extreme).dump(), "in a test"), extreme);
  EXPECT_EQ(signed_tree_head_from_json(to_json(extreme), "in a test"), extreme);
}

TEST(SignedTreeHead, MalformedJsonIsAnErrorNamingTheMemberAndWhatWasExpected) {
  const SignedHeadFixture fixture;
  const nlohmann::json good = to_json(fixture.sth);
  const auto error_reading = [](const std::string& text) {
    return error_of([&] { parse_signed_tree_head(text, "from test.json"); });
  };
  const auto with = [&](const char* name, const nlohmann::json& member) {
    nlohmann::json value = good;
    value[name] = member;
    return value.dump();
  };
  const auto without = [&](const char* name) {
    nlohmann::json value = good;
    value.erase(name);
    return value.dump();
  };
  const std::string prefix = "signed tree head from test.json: ";

  EXPECT_EQ(error_reading("{\"tree_size\": 3,").rfind(prefix + "not JSON (", 0), 0u);
  EXPECT_EQ(error_reading("").rfind(prefix + "not JSON (", 0), 0u);
  EXPECT_EQ(error_reading("[1, 2]"), prefix + "expected a JSON object, found [1,2]");
  for (const char* name : {"tree_size", "timestamp_ms", "root", "signature"}) {
    EXPECT_EQ(error_reading(without(name)), prefix + "\"" + name + "\" is missing");
  }
  EXPECT_EQ(error_reading(with("tree_size", -1)),
            prefix + "\"tree_size\" must be an integer from 0 to 2^64 - 1, found -1");
  EXPECT_EQ(error_reading(with("timestamp_ms", 1.5)),
            prefix + "\"timestamp_ms\" must be an integer from 0 to 2^64 - 1, found 1.5");
  EXPECT_EQ(error_reading(with("tree_size", "3")),
            prefix + "\"tree_size\" must be an integer from 0 to 2^64 - 1, found \"3\"");
  EXPECT_EQ(error_reading(with("root", 7)),
            prefix + "\"root\" must be a string of 64 hex digits, found 7");
  EXPECT_EQ(error_reading(with("root", "abcd")),
            prefix + "\"root\": expected 64 hex digits, found 4");
  EXPECT_EQ(error_reading(with("root", std::string(63, 'a') + "z")),
            prefix + "\"root\": 'z' (character 64) is not a hex digit");
  EXPECT_EQ(error_reading(with("signature", to_hex(fixture.head.root))),
            prefix + "\"signature\": expected 128 hex digits, found 64");
  EXPECT_EQ(error_reading(with("public_key", "00")),
            prefix +
                "unexpected member \"public_key\" (expected only tree_size, timestamp_ms, root "
                "and signature)");
  EXPECT_EQ(error_of([] { signed_tree_head_from_json(nlohmann::json("text"), "here"); }),
            "signed tree head here: expected a JSON object, found \"text\"");
}

}  // namespace
}  // namespace spare::ledger
