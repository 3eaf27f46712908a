#!/usr/bin/env bash
# Writes a seed corpus for media_fuzz into DIR: one tiny file of every format hearth decodes,
# made by ImageMagick, sox and ffmpeg, each prefixed with the byte that lets Sniff pick the
# decoder (0xFF), plus a data URI (selector 3).
set -euo pipefail
out=${1:?usage: make_media_seeds.sh DIR}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
convert -size 16x8 gradient:red-blue a.png
convert -size 16x8 gradient:red-blue -quality 80 a.jpg
convert -size 16x8 gradient:red-blue -interlace JPEG p.jpg
convert -size 16x8 gradient:red-blue a.webp
convert -size 16x8 gradient:red-blue -define webp:lossless=true l.webp
convert -size 16x8 xc:red xc:blue +dither -colors 4 -loop 0 a.gif
convert -size 15x8 gradient:red-blue -type TrueColor BMP3:a.bmp
convert -size 15x8 gradient:red-blue -type TrueColorAlpha BMP:b.bmp
convert -size 15x8 xc:red +dither -colors 4 -compress None BMP3:c.bmp
convert -size 7x8 xc:red -size 8x8 xc:blue +append +dither -colors 4 -compress RLE BMP3:r.bmp
sox -n -r 8000 -b 16 -c 1 a.wav synth 0.05 sine 440
sox -n -r 8000 -c 2 a.flac synth 0.05 sine 440
sox -n -r 8000 -c 1 a.ogg synth 0.1 sine 440
sox -n -r 8000 -c 1 a.mp3 synth 0.1 sine 440
src="-f lavfi -i testsrc=s=16x16:r=2:d=1 -f lavfi -i sine=duration=1:sample_rate=8000 -pix_fmt yuv420p"
ff="ffmpeg -nostdin -loglevel error -y"
$ff $src -c:v libx264 -c:a aac a.mp4
$ff $src -c:v libvpx -c:a libvorbis a.webm
$ff $src -c:v libx264 -c:a flac a.mkv
for f in *; do { printf '\xff'; cat "$f"; } > "$out/$f"; done
{ printf '\x03'; printf 'data:image/png;base64,'; base64 -w0 a.png; } > "$out/uri"
ls "$out" | wc -l
