"""A small msgpack encoder/decoder for the tests and benchmarks (no third-party packages
are available here).  Covers what msgpack-RPC with Neovim uses: nil, bool, int, float, str,
bin, array, map, ext (kept as (type, bytes))."""
import struct


def pack(o):
    out = bytearray()
    _pack(o, out)
    return bytes(out)


def _pack(o, out):
    if o is None:
        out.append(0xC0)
    elif o is True:
        out.append(0xC3)
    elif o is False:
        out.append(0xC2)
    elif isinstance(o, int):
        if 0 <= o < 0x80:
            out.append(o)
        elif -32 <= o < 0:
            out.append(o & 0xFF)
        elif 0 <= o <= 0xFFFFFFFF:
            out += b"\xce" + struct.pack(">I", o)
        elif o >= 0:
            out += b"\xcf" + struct.pack(">Q", o)
        else:
            out += b"\xd3" + struct.pack(">q", o)
    elif isinstance(o, float):
        out += b"\xcb" + struct.pack(">d", o)
    elif isinstance(o, str):
        b = o.encode("utf-8", "surrogateescape")
        n = len(b)
        if n < 32:
            out.append(0xA0 | n)
        elif n < 256:
            out += bytes([0xD9, n])
        elif n < 65536:
            out += b"\xda" + struct.pack(">H", n)
        else:
            out += b"\xdb" + struct.pack(">I", n)
        out += b
    elif isinstance(o, (bytes, bytearray)):
        n = len(o)
        if n < 256:
            out += bytes([0xC4, n])
        elif n < 65536:
            out += b"\xc5" + struct.pack(">H", n)
        else:
            out += b"\xc6" + struct.pack(">I", n)
        out += o
    elif isinstance(o, (list, tuple)):
        n = len(o)
        if n < 16:
            out.append(0x90 | n)
        elif n < 65536:
            out += b"\xdc" + struct.pack(">H", n)
        else:
            out += b"\xdd" + struct.pack(">I", n)
        for x in o:
            _pack(x, out)
    elif isinstance(o, dict):
        n = len(o)
        if n < 16:
            out.append(0x80 | n)
        elif n < 65536:
            out += b"\xde" + struct.pack(">H", n)
        else:
            out += b"\xdf" + struct.pack(">I", n)
        for k, v in o.items():
            _pack(k, out)
            _pack(v, out)
    else:
        raise TypeError("cannot pack %r" % (o,))


class Incomplete(Exception):
    pass


def unpack_one(buf, pos=0):
    """Decodes one value at buf[pos:]; returns (value, next_pos) or raises Incomplete."""

    def need(n):
        if pos_[0] + n > len(buf):
            raise Incomplete()
        b = buf[pos_[0]:pos_[0] + n]
        pos_[0] += n
        return b

    pos_ = [pos]

    def rd():
        t = need(1)[0]
        if t < 0x80:
            return t
        if t >= 0xE0:
            return t - 0x100
        if 0x80 <= t <= 0x8F:
            return {rd_key(): rd() for _ in range(t & 0x0F)}
        if 0x90 <= t <= 0x9F:
            return [rd() for _ in range(t & 0x0F)]
        if 0xA0 <= t <= 0xBF:
            return need(t & 0x1F).decode("utf-8", "surrogateescape")
        if t == 0xC0:
            return None
        if t == 0xC2:
            return False
        if t == 0xC3:
            return True
        fixed = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h",
                 0xD2: ">i", 0xD3: ">q", 0xCA: ">f", 0xCB: ">d"}
        if t in fixed:
            fmt = fixed[t]
            return struct.unpack(fmt, need(struct.calcsize(fmt)))[0]
        if t in (0xD9, 0xDA, 0xDB):
            n = struct.unpack({0xD9: ">B", 0xDA: ">H", 0xDB: ">I"}[t],
                              need({0xD9: 1, 0xDA: 2, 0xDB: 4}[t]))[0]
            return need(n).decode("utf-8", "surrogateescape")
        if t in (0xC4, 0xC5, 0xC6):
            n = struct.unpack({0xC4: ">B", 0xC5: ">H", 0xC6: ">I"}[t],
                              need({0xC4: 1, 0xC5: 2, 0xC6: 4}[t]))[0]
            return bytes(need(n))
        if t in (0xDC, 0xDD):
            n = struct.unpack(">H" if t == 0xDC else ">I", need(2 if t == 0xDC else 4))[0]
            return [rd() for _ in range(n)]
        if t in (0xDE, 0xDF):
            n = struct.unpack(">H" if t == 0xDE else ">I", need(2 if t == 0xDE else 4))[0]
            return {rd_key(): rd() for _ in range(n)}
        if t in (0xD4, 0xD5, 0xD6, 0xD7, 0xD8):
            n = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}[t]
            typ = struct.unpack(">b", need(1))[0]
            return ("ext", typ, bytes(need(n)))
        if t in (0xC7, 0xC8, 0xC9):
            n = struct.unpack({0xC7: ">B", 0xC8: ">H", 0xC9: ">I"}[t],
                              need({0xC7: 1, 0xC8: 2, 0xC9: 4}[t]))[0]
            typ = struct.unpack(">b", need(1))[0]
            return ("ext", typ, bytes(need(n)))
        raise ValueError("bad msgpack byte 0x%02x" % t)

    def rd_key():
        k = rd()
        return tuple(k) if isinstance(k, list) else k

    v = rd()
    return v, pos_[0]


class Stream:
    """Accumulates bytes and yields whole values."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        pos = 0
        while pos < len(self.buf):
            try:
                v, pos2 = unpack_one(self.buf, pos)
            except Incomplete:
                break
            out.append(v)
            pos = pos2
        self.buf = self.buf[pos:]
        return out
