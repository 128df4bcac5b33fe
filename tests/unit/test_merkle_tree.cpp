// The ledger's Merkle tree against Certificate Transparency's reference tree,
// against RFC 6962's recursive definition, and proof by proof for every small tree.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "merkle_tree.hpp"
#include "spare/error.hpp"
#include "support/test_seed.hpp"

namespace spare::ledger {
namespace {

// The eight leaves of the reference tree of Certificate Transparency's tests.
const std::vector<std::string> reference_leaves = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

// The roots of its first 1, 2, ..., 8 leaves.
const std::vector<std::string> reference_roots = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

// Inner nodes of the reference tree that its known proofs are made of.
const char* const leaf_0 = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d";
const char* const leaf_1 = "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7";
const char* const leaf_2 = "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7";
const char* const leaf_3 = "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7";
const char* const leaf_4 = "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b";
const char* const nodes_0_1 = "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125";
const char* const nodes_2_3 = "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e";
const char* const nodes_4_5 = "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a";
const char* const nodes_6_7 = "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0";
const char* const nodes_0_3 = "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7";
const char* const nodes_4_7 = "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4";

constexpr std::uint64_t exhaustive_size = 40;

MerkleTree reference_tree() {
  MerkleTree tree;
  for (const std::string& leaf : reference_leaves)
    tree.append(leaf_hash(bytes_from_hex(leaf)));
  return tree;
}

std::vector<std::string> hex_of(const std::vector<Hash>& hashes) {
  std::vector<std::string> texts;
  for (const Hash& hash : hashes)
    texts.push_back(to_hex(hash));
  return texts;
}

using testing::test_seed;

// Distinct entries of random lengths and bytes; the index in front keeps them distinct.
std::vector<std::vector<std::uint8_t>> random_entries(std::uint64_t count,
                                                      std::mt19937_64& random) {
  std::vector<std::vector<std::uint8_t>> entries;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::vector<std::uint8_t> entry{static_cast<std::uint8_t>(i)};
    const auto length = random() % 48;
    for (std::uint64_t j = 0; j < length; ++j)
      entry.push_back(static_cast<std::uint8_t>(random()));
    entries.push_back(entry);
  }
  return entries;
}

MerkleTree tree_of(const std::vector<std::vector<std::uint8_t>>& entries) {
  MerkleTree tree;
  for (const auto& entry : entries)
    tree.append(leaf_hash(entry));
  return tree;
}

template <class Bytes>
Bytes with_bit_flipped(Bytes bytes, std::uint64_t bit) {
  bytes[bit / 8 % bytes.size()] ^= static_cast<std::uint8_t>(1u << (bit % 8));
  return bytes;
}

// MTH(D[n]) exactly as RFC 6962 §2.1 defines it, with no cache to get wrong.
Hash recursive_root(const std::vector<Hash>& leaves, std::size_t begin, std::size_t end) {
  if (begin == end) return empty_tree_hash();
  if (end - begin == 1) return leaves[begin];
  std::size_t k = 1;
  while (2 * k < end - begin)
    k *= 2;
  return node_hash(recursive_root(leaves, begin, begin + k),
                   recursive_root(leaves, begin + k, end));
}

TEST(MerkleTree, TheEmptyTreeHasTheHashOfNothing) {
  const MerkleTree tree;
  EXPECT_EQ(tree.size(), 0u);
  EXPECT_EQ(to_hex(tree.root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(tree.root(0), empty_tree_hash());
}

TEST(MerkleTree, LeavesAndNodesAreHashedWithDifferentPrefixes) {
  const std::vector<std::uint8_t> entry{0x01, 0x02};
  EXPECT_EQ(leaf_hash(entry), sha256(std::vector<std::uint8_t>{0x00, 0x01, 0x02}));
  const Hash left = leaf_hash(bytes_of("left"));
  const Hash right = leaf_hash(bytes_of("right"));
  std::vector<std::uint8_t> joined{0x01};
  joined.insert(joined.end(), left.begin(), left.end());
  joined.insert(joined.end(), right.begin(), right.end());
  EXPECT_EQ(node_hash(left, right), sha256(joined));
  EXPECT_NE(node_hash(left, right), node_hash(right, left));
}

TEST(MerkleTree, EveryPrefixOfTheReferenceTreeHasItsPublishedRoot) {
  const MerkleTree tree = reference_tree();
  ASSERT_EQ(tree.size(), 8u);
  for (std::uint64_t size = 1; size <= 8; ++size) {
    EXPECT_EQ(to_hex(tree.root(size)), reference_roots[size - 1]) << "size " << size;
  }
  // A tree that holds only the prefix agrees with the prefix of a longer one.
  MerkleTree growing;
  for (std::uint64_t i = 0; i < 8; ++i) {
    EXPECT_EQ(growing.append(leaf_hash(bytes_from_hex(reference_leaves[i]))), i);
    EXPECT_EQ(to_hex(growing.root()), reference_roots[i]) << "size " << i + 1;
  }
}

TEST(MerkleTree, TheReferenceTreeGivesItsPublishedInclusionProofs) {
  const MerkleTree tree = reference_tree();
  EXPECT_TRUE(tree.inclusion_proof(0, 1).empty());
  EXPECT_EQ(hex_of(tree.inclusion_proof(0, 8)),
            (std::vector<std::string>{leaf_1, nodes_2_3, nodes_4_7}));
  EXPECT_EQ(hex_of(tree.inclusion_proof(5, 8)),
            (std::vector<std::string>{leaf_4, nodes_6_7, nodes_0_3}));
  EXPECT_EQ(hex_of(tree.inclusion_proof(2, 3)), (std::vector<std::string>{nodes_0_1}));
  EXPECT_EQ(hex_of(tree.inclusion_proof(1, 5)),
            (std::vector<std::string>{leaf_0, nodes_2_3, leaf_4}));
}

TEST(MerkleTree, TheReferenceTreeGivesItsPublishedConsistencyProofs) {
  const MerkleTree tree = reference_tree();
  EXPECT_TRUE(tree.consistency_proof(1, 1).empty());
  EXPECT_EQ(hex_of(tree.consistency_proof(1, 8)),
            (std::vector<std::string>{leaf_1, nodes_2_3, nodes_4_7}));
  EXPECT_EQ(hex_of(tree.consistency_proof(6, 8)),
            (std::vector<std::string>{nodes_4_5, nodes_6_7, nodes_0_3}));
  EXPECT_EQ(hex_of(tree.consistency_proof(2, 5)), (std::vector<std::string>{nodes_2_3, leaf_4}));
  EXPECT_EQ(hex_of(tree.consistency_proof(3, 8)),
            (std::vector<std::string>{leaf_2, leaf_3, nodes_0_1, nodes_4_7}));
}

TEST(MerkleTree, RootsAgreeWithTheRecursiveDefinition) {
  std::mt19937_64 random(test_seed());
  SCOPED_TRACE("seed " + std::to_string(test_seed()));
  const auto entries = random_entries(70, random);
  const MerkleTree tree = tree_of(entries);
  std::vector<Hash> leaves;
  for (const auto& entry : entries)
    leaves.push_back(leaf_hash(entry));
  for (std::uint64_t size = 0; size <= tree.size(); ++size) {
    EXPECT_EQ(tree.root(size), recursive_root(leaves, 0, size)) << "size " << size;
  }
  for (std::uint64_t i = 0; i < tree.size(); ++i)
    EXPECT_EQ(tree.leaf(i), leaves[i]);
}

TEST(MerkleTree, EveryInclusionProofVerifies) {
  std::mt19937_64 random(test_seed());
  SCOPED_TRACE("seed " + std::to_string(test_seed()));
  const auto entries = random_entries(exhaustive_size, random);
  const MerkleTree tree = tree_of(entries);
  for (std::uint64_t size = 1; size <= exhaustive_size; ++size) {
    const Hash root = tree.root(size);
    // A tree of exactly `size` leaves gives the same proofs as a longer one's prefix.
    const MerkleTree exact = tree_of({entries.begin(), entries.begin() + size});
    for (std::uint64_t index = 0; index < size; ++index) {
      const std::vector<Hash> proof = tree.inclusion_proof(index, size);
      EXPECT_TRUE(verify_inclusion(leaf_hash(entries[index]), index, size, proof, root))
          << "leaf " << index << " of " << size;
      EXPECT_EQ(proof, exact.inclusion_proof(index, size));
    }
  }
}

TEST(MerkleTree, ATamperedEntryFailsItsInclusionProof) {
  std::mt19937_64 random(test_seed());
  SCOPED_TRACE("seed " + std::to_string(test_seed()));
  const auto entries = random_entries(exhaustive_size, random);
  const MerkleTree tree = tree_of(entries);
  for (std::uint64_t size = 1; size <= exhaustive_size; ++size) {
    const Hash root = tree.root(size);
    for (std::uint64_t index = 0; index < size; ++index) {
      SCOPED_TRACE("leaf " + std::to_string(index) + " of " + std::to_string(size));
      const std::vector<Hash> proof = tree.inclusion_proof(index, size);
      const auto entry = with_bit_flipped(entries[index], random());
      EXPECT_FALSE(verify_inclusion(leaf_hash(entry), index, size, proof, root));
      const Hash leaf = with_bit_flipped(leaf_hash(entries[index]), random());
      EXPECT_FALSE(verify_inclusion(leaf, index, size, proof, root));
    }
  }
}

TEST(MerkleTree, ATamperedInclusionProofFails) {
  std::mt19937_64 random(test_seed());
  SCOPED_TRACE("seed " + std::to_string(test_seed()));
  const auto entries = random_entries(exhaustive_size, random);
  const MerkleTree tree = tree_of(entries);
  for (std::uint64_t size = 1; size <= exhaustive_size; ++size) {
    const Hash root = tree.root(size);
    for (std::uint64_t index = 0; index < size; ++index) {
      SCOPED_TRACE("leaf " + std::to_string(index) + " of " + std::to_string(size));
      const Hash leaf = leaf_hash(entries[index]);
      const std::vector<Hash> proof = tree.inclusion_proof(index, size);
      for (std::size_t i = 0; i < proof.size(); ++i) {
        std::vector<Hash> altered = proof;
        altered[i] = with_bit_flipped(altered[i], random());
        EXPECT_FALSE(verify_inclusion(leaf, index, size, altered, root)) << "element " << i;
      }
      std::vector<Hash> longer = proof;
      longer.push_back(root);
      EXPECT_FALSE(verify_inclusion(leaf, index, size, longer, root));
      if (!proof.empty()) {
        const std::vector<Hash> shorter(proof.begin(), proof.end() - 1);
        EXPECT_FALSE(verify_inclusion(leaf, index, size, shorter, root));
      }
    }
  }
}

TEST(MerkleTree, AnInclusionProofFailsForAnotherRootIndexOrSize) {
  std::mt19937_64 random(test_seed());
  SCOPED_TRACE("seed " + std::to_string(test_seed()));
  const auto entries = random_entries(exhaustive_size, random);
  const MerkleTree tree = tree_of(entries);
  for (std::uint64_t size = 1; size <= exhaustive_size; ++size) {
    const Hash root = tree.root(size);
    for (std::uint64_t index = 0; index < size; ++index) {
      SCOPED_TRACE("leaf " + std::to_string(index) + " of " + std::to_string(size));
      const Hash leaf = leaf_hash(entries[index]);
      const std::vector<Hash> proof = tree.inclusion_proof(index, size);
      EXPECT_FALSE(verify_inclusion(leaf, index, size, proof, with_bit_flipped(root, random())));
      for (std::uint64_t other = 0; other <= size; ++other) {
        if (other != index) {
          EXPECT_FALSE(verify_inclusion(leaf, other, size, proof, root)) << "index " << other;
        }
      }
      // Against the root that goes with the size claimed, as a signed tree head gives it.
      for (std::uint64_t other = 0; other <= exhaustive_size; ++other) {
        if (other != size) {
          EXPECT_FALSE(verify_inclusion(leaf, index, other, proof, tree.root(other)))
              << "size " << other;
        }
      }
    }
  }
}

TEST(MerkleTree, EveryConsistencyProofVerifies) {
  std::mt19937_64 random(test_seed());
  SCOPED_TRACE("seed " + std::to_string(test_seed()));
  const MerkleTree tree = tree_of(random_entries(exhaustive_size, random));
  for (std::uint64_t new_size = 0; new_size <= exhaustive_size; ++new_size) {
    for (std::uint64_t old_size = 0; old_size <= new_size; ++old_size) {
      const std::vector<Hash> proof = tree.consistency_proof(old_size, new_size);
      EXPECT_EQ(proof.empty(), old_size == 0 || old_size == new_size);
      EXPECT_TRUE(
          verify_consistency(old_size, new_size, tree.root(old_size), tree.root(new_size), proof))
          << old_size << " to " << new_size;
    }
  }
}

TEST(MerkleTree, AnAlteredConsistencyProofFails) {
  std::mt19937_64 random(test_seed());
  SCOPED_TRACE("seed " + std::to_string(test_seed()));
  const MerkleTree tree = tree_of(random_entries(exhaustive_size, random));
  for (std::uint64_t new_size = 1; new_size <= exhaustive_size; ++new_size) {
    const Hash new_root = tree.root(new_size);
    for (std::uint64_t old_size = 0; old_size <= new_size; ++old_size) {
      SCOPED_TRACE(std::to_string(old_size) + " to " + std::to_string(new_size));
      const Hash old_root = tree.root(old_size);
      const std::vector<Hash> proof = tree.consistency_proof(old_size, new_size);
      for (std::size_t i = 0; i < proof.size(); ++i) {
        std::vector<Hash> altered = proof;
        altered[i] = with_bit_flipped(altered[i], random());
        EXPECT_FALSE(verify_consistency(old_size, new_size, old_root, new_root, altered))
            << "element " << i;
      }
      std::vector<Hash> longer = proof;
      longer.push_back(new_root);
      EXPECT_FALSE(verify_consistency(old_size, new_size, old_root, new_root, longer));
      if (!proof.empty()) {
        const std::vector<Hash> shorter(proof.begin(), proof.end() - 1);
        EXPECT_FALSE(verify_consistency(old_size, new_size, old_root, new_root, shorter));
      }
    }
  }
}

TEST(MerkleTree, ARewrittenHistoryFailsConsistency) {
  std::mt19937_64 random(test_seed());
  SCOPED_TRACE("seed " + std::to_string(test_seed()));
  const auto entries = random_entries(exhaustive_size, random);
  const MerkleTree tree = tree_of(entries);
  for (std::uint64_t old_size = 1; old_size <= exhaustive_size; ++old_size) {
    // Another history of the first old_size entries: one early entry rewritten.
    auto rewritten = entries;
    const std::uint64_t changed = random() % old_size;
    rewritten[changed] = with_bit_flipped(rewritten[changed], random());
    const MerkleTree other = tree_of(rewritten);
    for (std::uint64_t new_size = old_size; new_size <= exhaustive_size; ++new_size) {
      SCOPED_TRACE(std::to_string(old_size) + " to " + std::to_string(new_size) + ", entry " +
                   std::to_string(changed) + " rewritten");
      const Hash new_root = tree.root(new_size);
      EXPECT_FALSE(verify_consistency(old_size, new_size, other.root(old_size), new_root,
                                      tree.consistency_proof(old_size, new_size)));
      EXPECT_FALSE(verify_consistency(old_size, new_size, other.root(old_size), new_root,
                                      other.consistency_proof(old_size, new_size)));
    }
  }
}

TEST(MerkleTree, SwappedSizesFailConsistency) {
  std::mt19937_64 random(test_seed());
  SCOPED_TRACE("seed " + std::to_string(test_seed()));
  const MerkleTree tree = tree_of(random_entries(exhaustive_size, random));
  for (std::uint64_t new_size = 1; new_size <= exhaustive_size; ++new_size) {
    for (std::uint64_t old_size = 0; old_size < new_size; ++old_size) {
      SCOPED_TRACE(std::to_string(old_size) + " to " + std::to_string(new_size));
      const std::vector<Hash> proof = tree.consistency_proof(old_size, new_size);
      const Hash old_root = tree.root(old_size);
      const Hash new_root = tree.root(new_size);
      // Sizes and roots swapped, the sizes alone, the roots alone (not from the
      // empty tree, which is a prefix of every tree whatever root it is given).
      EXPECT_FALSE(verify_consistency(new_size, old_size, new_root, old_root, proof));
      EXPECT_FALSE(verify_consistency(new_size, old_size, old_root, new_root, proof));
      if (old_size > 0) {
        EXPECT_FALSE(verify_consistency(old_size, new_size, new_root, old_root, proof));
      }
    }
  }
}

TEST(MerkleTree, TheEdgeCasesOfVerificationFollowRfc9162) {
  const MerkleTree tree = reference_tree();
  const Hash leaf = tree.leaf(0);
  const Hash root_1 = tree.root(1);
  const Hash root_3 = tree.root(3);
  const std::vector<Hash> none;

  // An index past the end fails, even with a proof that would fit.
  EXPECT_TRUE(verify_inclusion(leaf, 0, 1, none, root_1));
  EXPECT_FALSE(verify_inclusion(leaf, 1, 1, none, root_1));
  EXPECT_FALSE(verify_inclusion(leaf, 0, 0, none, empty_tree_hash()));

  // Equal sizes: an empty proof and equal roots, nothing else.
  EXPECT_TRUE(verify_consistency(3, 3, root_3, root_3, none));
  EXPECT_FALSE(verify_consistency(3, 3, root_3, root_1, none));
  EXPECT_FALSE(verify_consistency(3, 3, root_3, root_3, std::vector<Hash>{root_3}));
  // The empty tree is a prefix of any tree, with an empty proof.
  EXPECT_TRUE(verify_consistency(0, 3, empty_tree_hash(), root_3, none));
  EXPECT_TRUE(verify_consistency(0, 3, root_1, root_3, none));  // the old root is not looked at
  EXPECT_FALSE(verify_consistency(0, 3, empty_tree_hash(), root_3, std::vector<Hash>{root_3}));
  EXPECT_TRUE(verify_consistency(0, 0, empty_tree_hash(), empty_tree_hash(), none));
  // Otherwise an empty proof proves nothing, and a tree cannot shrink.
  EXPECT_FALSE(verify_consistency(1, 3, root_1, root_3, none));
  EXPECT_FALSE(verify_consistency(3, 5, root_3, tree.root(5), none));
  EXPECT_FALSE(verify_consistency(3, 1, root_3, root_1, none));
  EXPECT_FALSE(verify_consistency(3, 1, root_3, root_1, tree.consistency_proof(1, 3)));
}

// The proofs bind leaves and subtrees, not the size: the 7-leaf tree's
// proofs also pass for 8 leaves against the root of 7. A size is only
// trusted with the root it is signed with, which is why a tree head signs both.
TEST(MerkleTree, ProofsDoNotFixTheSizeSoATreeHeadMustSignIt) {
  const MerkleTree tree = reference_tree();
  EXPECT_TRUE(verify_inclusion(tree.leaf(4), 4, 8, tree.inclusion_proof(4, 7), tree.root(7)));
  EXPECT_TRUE(verify_consistency(4, 8, tree.root(4), tree.root(7), tree.consistency_proof(4, 7)));
  EXPECT_FALSE(verify_inclusion(tree.leaf(4), 4, 8, tree.inclusion_proof(4, 7), tree.root(8)));
}

// What RFC 9162's checks of sn are for: a genuine proof, against the roots it
// proves, but claimed for sizes whose paths are longer or shorter than it.
TEST(MerkleTree, AProofOfTheWrongLengthForTheClaimedSizesFails) {
  const MerkleTree tree = reference_tree();
  const auto inclusion = tree.inclusion_proof(0, 2);
  EXPECT_TRUE(verify_inclusion(tree.leaf(0), 0, 2, inclusion, tree.root(2)));
  EXPECT_FALSE(verify_inclusion(tree.leaf(0), 0, 3, inclusion, tree.root(2)));
  EXPECT_TRUE(verify_inclusion(tree.leaf(1), 1, 2, tree.inclusion_proof(1, 2), tree.root(2)));
  EXPECT_FALSE(verify_inclusion(tree.leaf(1), 0, 1, tree.inclusion_proof(1, 2), tree.root(2)));

  const auto consistency = tree.consistency_proof(4, 5);
  EXPECT_TRUE(verify_consistency(4, 5, tree.root(4), tree.root(5), consistency));
  EXPECT_FALSE(verify_consistency(4, 9, tree.root(4), tree.root(5), consistency));
  const auto longer = tree.consistency_proof(7, 8);
  EXPECT_TRUE(verify_consistency(7, 8, tree.root(7), tree.root(8), longer));
  EXPECT_FALSE(verify_consistency(3, 4, tree.root(7), tree.root(8), longer));
}

TEST(MerkleTree, AskingBeyondTheTreeIsAnError) {
  const MerkleTree tree = reference_tree();
  EXPECT_THROW(tree.root(9), Error);
  EXPECT_THROW(tree.leaf(8), Error);
  EXPECT_THROW(tree.inclusion_proof(3, 3), Error);
  EXPECT_THROW(tree.inclusion_proof(0, 9), Error);
  EXPECT_THROW(tree.inclusion_proof(0, 0), Error);
  EXPECT_THROW(tree.consistency_proof(4, 3), Error);
  EXPECT_THROW(tree.consistency_proof(1, 9), Error);
  try {
    tree.root(9);
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "asked for a Merkle tree of 9 leaves, but it has 8");
  }
}

TEST(MerkleTree, HashesRoundTripThroughHex) {
  const Hash root = reference_tree().root();
  EXPECT_EQ(to_hex(root), reference_roots[7]);
  EXPECT_EQ(hash_from_hex(reference_roots[7]), root);
  std::string upper = reference_roots[7];
  for (char& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(hash_from_hex(upper), root);
  EXPECT_EQ(bytes_from_hex(""), std::vector<std::uint8_t>{});
  EXPECT_EQ(bytes_from_hex("00ff7F"), (std::vector<std::uint8_t>{0x00, 0xff, 0x7f}));
}

TEST(MerkleTree, MalformedHexIsAnErrorThatSaysWhy) {
  const auto message_of = [](auto parse) -> std::string {
    try {
      parse();
    } catch (const Error& error) {
      return error.what();
    }
    return "no error";
  };
  EXPECT_EQ(message_of([] { hash_from_hex("abcd"); }), "expected 64 hex digits, found 4");
  EXPECT_EQ(message_of([] { hash_from_hex(std::string(63, '0') + "g"); }),
            "'g' (character 64) is not a hex digit");
  EXPECT_EQ(message_of([] { bytes_from_hex("0"); }),
            "expected an even number of hex digits, found 1");
  EXPECT_EQ(message_of([] { bytes_from_hex(std::string("0\n", 2)); }),
            "byte 0x0a (character 2) is not a hex digit");
}

}  // namespace
}  // namespace spare::ledger
