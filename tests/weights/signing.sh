# signing.sh: signed weights end to end with the tiny model's binary, packer
# and build/df-sign: `verify` and its JSON line, and every refusal (a flipped
# byte in a tensor, the header, the hashes or the signature; truncated and
# extended files; another checkpoint's tensors; an untrusted key; a missing
# signature; a broken signature encoding; a version-1 file), each exiting 3
# with nothing computed. Sourced by tests/weights/run.sh.
bin=build/tiny/tiny
pack=build/tiny/tiny-pack
sign=build/df-sign
w=build/tiny/tiny.weights

# flip FILE OFFSET: invert the low bit of the byte at OFFSET.
flip() {
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
# u64 FILE OFFSET: a little-endian 64-bit header field.
u64() { od -An -tu8 -j "$2" -N8 "$1" | tr -d ' '; }
# refused NAME PATTERN FILE: the binary refuses FILE (exit 3, PATTERN on stderr) and prints no ids.
refused() {
    expect_fail "$1" 3 "$2" $bin --weights "$3" --ids 1,2,3 -n 2 --print-ids
    [ ! -s "$T/out" ] || fail "$1/nothing-computed" "stdout: $(head -c 100 "$T/out")"
}

ioff=$(u64 $w 168)    # integrity_offset
check "sign/reference-file-is-signed" sh -c "$bin verify --weights $w >'$T/v.json' &&
    grep -q '\"verified\":true,\"exit\":0,\"stage\":\"done\",\"signed\":true,\"trusted_signature\":true' '$T/v.json' &&
    grep -q '\"key_id\":\"3abc789992e92c2c18747aed51fa16b0a46a4c39784ae90b7190f15db473a74e\"' '$T/v.json'"
check "sign/verify-threads-1" sh -c "$bin verify --weights $w --threads 1 | grep -q '\"threads\":1'"
for m in tiny_fp8 v2_lite v2_group v3_h16; do
    check "sign/$m-verifies" build/$m/$m verify --weights build/$m/$m.weights
done

# One flipped byte anywhere.
cp $w "$T/s.weights"; flip "$T/s.weights" $((4096 + 100))
refused "sign/flipped-tensor-byte" "chunk 0 of 2 \\(data bytes 0\\.\\.4194303\\) does not match its hash.*tensors 'embed', 'l0.attn_norm', 'l0.q_a_proj' and [0-9]+ more; refusing to compute" "$T/s.weights"
cp $w "$T/s.weights"; flip "$T/s.weights" $((4096 + 4300000))
refused "sign/flipped-byte-in-unused-mtp-tensor" "chunk 1 of 2 .*tensors 'l3.head'" "$T/s.weights"
expect_fail "sign/verify-json-on-bad-chunk" 3 "chunk 1 of 2" $bin verify --weights "$T/s.weights"
cp "$T/out" "$T/v.json"
check "sign/verify-json-names-bad-chunk" grep -q '"verified":false,"exit":3,"stage":"chunks".*"bad_chunks":1,"first_bad_chunks":\[1\]' "$T/v.json"
cp $w "$T/s.weights"; flip "$T/s.weights" 136    # generator version: still printable
refused "sign/flipped-header-byte" "header does not match the hash in its integrity section" "$T/s.weights"
cp $w "$T/s.weights"; flip "$T/s.weights" 3000   # reserved
refused "sign/flipped-reserved-header-byte" "corrupt header: reserved byte 3000" "$T/s.weights"
cp $w "$T/s.weights"; flip "$T/s.weights" $((ioff + 256 + 40))
refused "sign/flipped-chunk-hash" "chunk-hash list does not match its root hash" "$T/s.weights"
cp $w "$T/s.weights"; flip "$T/s.weights" $((ioff + 64))
refused "sign/flipped-root" "chunk-hash list does not match its root hash" "$T/s.weights"
cp $w "$T/s.weights"; flip "$T/s.weights" $((ioff + 140))
refused "sign/flipped-signature-byte" "signature does not verify with trusted key 3abc789992e92c2c" "$T/s.weights"
cp $w "$T/s.weights"; flip "$T/s.weights" $((ioff + 132))   # DER SEQUENCE tag 0x30 -> 0x31
refused "sign/corrupt-signature-encoding" "corrupt signature encoding" "$T/s.weights"
cp $w "$T/s.weights"; flip "$T/s.weights" $((ioff + 128))   # signature length
refused "sign/corrupt-signature-length" "corrupt signature encoding" "$T/s.weights"
cp $w "$T/s.weights"; flip "$T/s.weights" $((ioff + 20))    # chunk size
refused "sign/flipped-chunk-size" "corrupt integrity section: chunk size" "$T/s.weights"

# Truncated or extended by one byte, a version-1 file.
head -c $(($(wc -c <$w) - 1)) $w > "$T/s.weights"
refused "sign/truncated-by-one" "truncated: [0-9]+ bytes, header says" "$T/s.weights"
{ cat $w; printf '\0'; } > "$T/s.weights"
refused "sign/extended-by-one" "has extra bytes" "$T/s.weights"
cp $w "$T/s.weights"; printf '\001' | dd of="$T/s.weights" bs=1 seek=8 conv=notrunc 2>/dev/null
refused "sign/format-version-1" "format version 1 has no integrity section: repack" "$T/s.weights"

# Another checkpoint of the same model: validly signed by the trusted key it
# runs, but its tensors in this file's frame are refused.
mkdir -p "$T/hf2"; cp tests/fixtures/tiny/hf/* "$T/hf2/"
shard=$(ls "$T/hf2"/*.safetensors | tail -n 1)
flip "$shard" $(($(wc -c <"$shard") - 1000))
check "sign/pack-other-checkpoint" $pack --hf "$T/hf2" --out "$T/other.weights" --sign tests/keys/test-signing.key.pem
check "sign/other-checkpoint-verifies-on-its-own" $bin verify --weights "$T/other.weights"
{ head -c 4096 $w; tail -c +4097 "$T/other.weights" | head -c $((ioff - 4096)); tail -c +$((ioff + 1)) $w; } > "$T/s.weights"
refused "sign/tensors-from-another-checkpoint" "does not match its hash" "$T/s.weights"
refused "sign/tensors-from-another-model" "packed for model 'v2_lite'" build/v2_lite/v2_lite.weights

# Keys: unsigned, untrusted, re-signed.
$pack --hf tests/fixtures/tiny/hf --out "$T/unsigned.weights" 2>"$T/pack.err"
check "sign/packer-warns-unsigned" grep -q "is NOT signed, and tiny's binary runs only weights signed" "$T/pack.err"
refused "sign/unsigned-where-signature-required" "not signed, but this binary runs only weights signed by one of its trusted keys \\(tests/keys/test-signing.pub.pem\\)" "$T/unsigned.weights"
check "sign/keygen" $sign keygen "$T/rogue"
check "sign/keygen-private-mode-0600" sh -c "ls -l '$T/rogue.key.pem' | grep -q '^-rw-------'"
expect_fail "sign/keygen-never-overwrites" 4 "File exists" $sign keygen "$T/rogue"
$pack --hf tests/fixtures/tiny/hf --out "$T/rogue.weights" --sign "$T/rogue.key.pem" 2>"$T/pack.err"
check "sign/packer-warns-untrusted-key" grep -q "is not one of the keys tiny's binary trusts" "$T/pack.err"
refused "sign/untrusted-key" "signed by key [0-9a-f]{16}, which this binary does not trust \\(it trusts 3abc789992e92c2c from tests/keys/test-signing.pub.pem\\)" "$T/rogue.weights"
check "sign/df-sign-verifies-with-its-key" $sign verify --pub "$T/rogue.pub.pem" "$T/rogue.weights"
expect_fail "sign/df-sign-other-key" 3 "does not trust" $sign verify --pub tests/keys/test-signing.pub.pem "$T/rogue.weights"
check "sign/resign-with-test-key" $sign sign --key tests/keys/test-signing.key.pem "$T/rogue.weights"
check "sign/resigned-file-same-as-packed" cmp "$T/rogue.weights" $w
check "sign/resign-unsigned" sh -c "$sign sign --key tests/keys/test-signing.key.pem '$T/unsigned.weights' && cmp '$T/unsigned.weights' $w"
cp $w "$T/s.weights"; flip "$T/s.weights" $((4096 + 5))
expect_fail "sign/df-sign-refuses-damaged-file" 3 "does not match its hash.*not signing" $sign sign --key "$T/rogue.key.pem" "$T/s.weights"
expect_fail "sign/packer-bad-key" 3 "not an unencrypted PEM private key" $pack --hf tests/fixtures/tiny/hf --out "$T/x.weights" --sign tests/keys/test-signing.pub.pem
check "sign/packer-bad-key-writes-nothing" test ! -e "$T/x.weights" -a ! -e "$T/x.weights.tmp"
expect_fail "sign/packer-bad-chunk-size" 2 "not a power of two" $pack --hf tests/fixtures/tiny/hf --out "$T/x.weights" --chunk-bytes 5000

# Small chunks: more of them, each failure still named.
check "sign/pack-64k-chunks" $pack --hf tests/fixtures/tiny/hf --out "$T/c64.weights" --chunk-bytes 65536 --sign tests/keys/test-signing.key.pem
check "sign/64k-chunks-verify" sh -c "$bin verify --weights '$T/c64.weights' | grep -q '\"chunk_bytes\":65536,\"chunks\":68'"
flip "$T/c64.weights" $((4096 + 2650000))   # lm_head is data bytes 2588160..2844159
refused "sign/64k-chunk-names-lm_head" "chunk 40 of 68 \(data bytes 2621440\.\.2686975\) .*it holds tensors 'lm_head'; refusing" "$T/c64.weights"

# verify: usage and I/O.
expect_fail "sign/verify-missing-file" 4 "nope.weights" $bin verify --weights "$T/nope.weights"
cp "$T/out" "$T/v.json"
check "sign/verify-missing-file-json" grep -q '"verified":false,"exit":4,"stage":"open"' "$T/v.json"
expect_fail "sign/verify-usage" 2 "--weights FILE is required" $bin verify
expect_fail "sign/no-verify-not-allowed" 2 "always verifies its weights" $bin --weights $w --ids 1 --no-verify

# Independent check of the signed message and signature (docs/weights-format.md).
if command -v openssl >/dev/null 2>&1; then
    $sign message $w > "$T/msg.bin" && $sign signature $w > "$T/sig.der"
    check "sign/openssl-verifies-signature" openssl dgst -sha256 -verify tests/keys/test-signing.pub.pem -signature "$T/sig.der" "$T/msg.bin"
    check "sign/key-id-is-sha256-of-der" sh -c "openssl pkey -pubin -in tests/keys/test-signing.pub.pem -outform DER | sha256sum | grep -q ^\$($sign keyid tests/keys/test-signing.pub.pem)"
fi

# A development spec: trusts no key, allows --no-verify. Its weights are packed
# unsigned; runs say so, and --no-verify runs even damaged weights, loudly.
lua5.4 -e "local s = io.open('specs/tiny.lua'):read('a')
           s = s:gsub('trusted_keys = { \"tests/keys/test%-signing.pub.pem\" }', 'trusted_keys = {}, allow_no_verify = true')
           io.open('$T/tiny_dev.lua', 'w'):write(s)"
if make -s NAME=tiny SPEC="$T/tiny_dev.lua" HF=tests/fixtures/tiny/hf OUT="$T/dev" >"$T/dev.log" 2>&1; then
    dev="$T/dev/tiny"
    check "sign/dev-packed-unsigned" grep -q "note: .* is not signed; tiny's binary trusts no key" "$T/dev.log"
    $dev --weights "$T/dev/tiny.weights" --ids 1,2,3 -n 4 --print-ids >"$T/dev.ids" 2>"$T/dev.err"
    $bin --weights $w --ids 1,2,3 -n 4 --print-ids >"$T/ref.ids"
    check "sign/dev-unsigned-runs-same-ids" cmp "$T/dev.ids" "$T/ref.ids"
    check "sign/dev-unsigned-warns" grep -q "weights are NOT signed and this binary trusts no signing key" "$T/dev.err"
    check "sign/dev-signed-file-not-checked-said-so" sh -c "$dev verify --weights $w 2>&1 | grep -q 'signature NOT checked'"
    cp "$T/dev/tiny.weights" "$T/s.weights"; flip "$T/s.weights" $((4096 + 100))
    expect_fail "sign/dev-damaged-refused" 3 "chunk 0 of 2" $dev --weights "$T/s.weights" --ids 1 -n 1
    $dev --weights "$T/s.weights" --ids 1,2,3 -n 4 --print-ids --no-verify >"$T/nv.ids" 2>"$T/nv.err"
    check "sign/dev-no-verify-runs" test -s "$T/nv.ids"
    check "sign/dev-no-verify-warns" grep -q "WARNING: --no-verify: the signature and checksums of .* are NOT checked" "$T/nv.err"
    check "sign/dev-help-lists-no-verify" sh -c "$dev --help | grep -q -- --no-verify"
else
    fail "sign/dev-build" "$(tail -5 "$T/dev.log")"
fi

# The generator: trusted keys must be readable PEM public keys.
for case in "missing|\"tests/keys/none.pub.pem\"|deploy.trusted_keys\\[1\\]: cannot read tests/keys/none.pub.pem" \
            "private|\"tests/keys/test-signing.key.pem\"|holds a PRIVATE key" \
            "not-pem|\"README.md\"|is not a PEM public key" \
            "bad-path|\"a b\"|deploy.trusted_keys: must be a list of file paths"; do
    name=${case%%|*}; rest=${case#*|}; key=${rest%%|*}; msg=${rest#*|}
    lua5.4 -e "local s = io.open('specs/tiny.lua'):read('a'):gsub('\"tests/keys/test%-signing.pub.pem\"', '$key')
               io.open('$T/badkey.lua', 'w'):write(s)"
    expect_fail "sign/gen-key-$name" 3 "$msg" lua5.4 gen/main.lua --spec "$T/badkey.lua" --out "$T/badkey_out"
done
check "sign/gen-nothing-written" test ! -e "$T/badkey_out"
