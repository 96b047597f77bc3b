"""The 41 transforms of issue 12, plus the extra border families its targets name
(letterbox, pillarbox, blurred padding). Deterministic: every random choice comes from a
generator seeded with the transform's name and the picture's name."""

import hashlib
import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps


def _rng(tname, pname):
    seed = int.from_bytes(hashlib.sha256(f"{tname}/{pname}".encode()).digest()[:8], "little")
    return np.random.default_rng(seed)


def _codec(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert("RGB")


def _jpeg(q):
    return lambda im, r: _codec(im, "JPEG", quality=q)


def _scale(f):
    return lambda im, r: im.resize((max(8, round(im.width * f)), max(8, round(im.height * f))),
                                   Image.LANCZOS)


def _crop(left, top, right, bottom):
    def f(im, r):
        w, h = im.size
        return im.crop((round(w * left), round(h * top), w - round(w * right),
                        h - round(h * bottom)))
    return f


def _rotate(deg, crop):
    def f(im, r):
        out = im.rotate(deg, resample=Image.BICUBIC, expand=not crop, fillcolor=(0, 0, 0))
        if not crop:
            return out
        # Largest axis-aligned rectangle inside the rotated picture, same aspect ratio.
        w, h = im.size
        a = math.radians(abs(deg))
        s = min(w / (w * math.cos(a) + h * math.sin(a)), h / (w * math.sin(a) + h * math.cos(a)))
        cw, ch = w * s, h * s
        return out.crop((round((w - cw) / 2), round((h - ch) / 2), round((w + cw) / 2),
                         round((h + ch) / 2)))
    return f


def _gamma(g):
    lut = [round(255 * (i / 255) ** g) for i in range(256)]
    return lambda im, r: im.point(lut * 3)


def _noise(sigma):
    def f(im, r):
        a = np.asarray(im, dtype=np.float32) + r.normal(0, sigma, (im.height, im.width, 3))
        return Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8))
    return f


def _font(size):
    return ImageFont.load_default(size=max(8, size))


WORDS = ["holiday", "look at this", "wow", "best day ever", "repost", "so true", "nature",
         "morning view", "throwback", "amazing", "weekend", "no filter"]


def _caption(im, r):
    # A banner over the bottom 12% of the picture with a line of text (meme/news style).
    out = im.copy()
    d = ImageDraw.Draw(out)
    h = round(im.height * 0.12)
    colour = tuple(int(c) for c in r.choice([[255, 255, 255], [0, 0, 0], [200, 30, 30]]))
    d.rectangle((0, im.height - h, im.width, im.height), fill=colour)
    text = " ".join(r.choice(WORDS, 2))
    ink = (0, 0, 0) if sum(colour) > 400 else (255, 255, 255)
    d.text((im.width * 0.05, im.height - h * 0.85), text, fill=ink, font=_font(int(h * 0.6)))
    return out


def _watermark(im, r):
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    size = max(12, im.width // 12)
    for k in range(3):
        d.text((im.width * 0.1, im.height * (0.2 + 0.3 * k)), "© SAMPLE WATERMARK",
               fill=(255, 255, 255, 110), font=_font(size))
    layer = layer.rotate(30, resample=Image.BICUBIC)
    return Image.alpha_composite(im.convert("RGBA"), layer).convert("RGB")


def _logo(im, r):
    out = im.copy()
    d = ImageDraw.Draw(out)
    w, h = round(im.width * 0.18), round(im.height * 0.10)
    corner = int(r.integers(4))
    x = round(im.width * 0.03) if corner % 2 == 0 else im.width - w - round(im.width * 0.03)
    y = round(im.height * 0.03) if corner < 2 else im.height - h - round(im.height * 0.03)
    colour = tuple(int(c) for c in r.integers(0, 256, 3))
    d.rectangle((x, y, x + w, y + h), fill=colour)
    d.text((x + w * 0.1, y + h * 0.2), "LOGO", fill=(255 - colour[0], 255 - colour[1], 255 - colour[2]),
           font=_font(int(h * 0.55)))
    return out


def _border(frac, colour):
    def f(im, r):
        p = round(max(im.size) * frac)
        return ImageOps.expand(im, border=p, fill=colour)
    return f


def _screenshot(im, r):
    # The picture at 0.8 of the window width, inside app chrome: status bar, title bar with
    # icons, a caption line above, a reply box below; then JPEG 85.
    W = im.width
    pic = im.resize((round(W * 0.8), round(im.height * 0.8)), Image.LANCZOS)
    H = pic.height + round(W * 0.42)
    bg = tuple(int(c) for c in r.choice([[255, 255, 255], [240, 242, 245], [24, 25, 26]]))
    ink = (20, 20, 20) if sum(bg) > 400 else (230, 230, 230)
    out = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(out)
    bar = round(W * 0.05)
    d.rectangle((0, 0, W, bar), fill=(30, 30, 30))
    d.text((W * 0.03, bar * 0.15), "12:34", fill=(255, 255, 255), font=_font(int(bar * 0.6)))
    d.rectangle((0, bar, W, bar * 2.6), fill=(0, 120, 200))
    for k in range(3):
        d.ellipse((W - (k + 1) * bar * 1.3, bar * 1.35, W - (k + 1) * bar * 1.3 + bar * 0.8,
                   bar * 2.2), fill=(255, 255, 255))
    d.text((W * 0.03, bar * 1.5), "Chat with friends", fill=(255, 255, 255), font=_font(int(bar * 0.6)))
    top = round(bar * 2.6 + W * 0.08)
    d.text((W * 0.1, top - W * 0.06), " ".join(r.choice(WORDS, 3)), fill=ink, font=_font(int(W * 0.035)))
    x = round((W - pic.width) / 2)
    out.paste(pic, (x, top))
    d.rounded_rectangle((W * 0.05, top + pic.height + W * 0.05, W * 0.95,
                         top + pic.height + W * 0.13), radius=W * 0.03, outline=ink, width=2)
    d.text((W * 0.08, top + pic.height + W * 0.07), "Type a message", fill=ink, font=_font(int(W * 0.03)))
    return _codec(out, "JPEG", quality=85)


def _social(im, r):
    s = 720 / max(im.size)
    if s < 1:
        im = im.resize((round(im.width * s), round(im.height * s)), Image.LANCZOS)
    return _codec(im, "JPEG", quality=70)


def _chain(im, r):
    im = _crop(0.03, 0.03, 0.03, 0.03)(im, r)
    im = _scale(0.6)(im, r)
    im = ImageEnhance.Brightness(im).enhance(1.1)
    return _codec(im, "JPEG", quality=75)


def _letterbox(im, r):
    # Into a 16:9 (landscape pictures: 9:16) frame with black bars, JPEG 85.
    w, h = im.size
    if w >= h:
        H = max(h, round(w * 9 / 16) if w / h < 16 / 9 else h)
        W = max(w, round(H * 16 / 9))
        if W == w and H == h:
            H = round(h * 1.25)
    else:
        W, H = round(w * 1.35), h
    out = Image.new("RGB", (W, H), (0, 0, 0))
    out.paste(im, ((W - w) // 2, (H - h) // 2))
    return _codec(out, "JPEG", quality=85)


def _pillarbox(im, r):
    w, h = im.size
    W = round(w * 1.4)
    out = Image.new("RGB", (W, h), (0, 0, 0))
    out.paste(im, ((W - w) // 2, 0))
    return _codec(out, "JPEG", quality=85)


def _blurred_padding(im, r):
    # Square canvas: the picture enlarged to fill it, blurred hard, the picture on top.
    w, h = im.size
    S = max(w, h)
    s = S / min(w, h)
    back = im.resize((round(w * s), round(h * s)), Image.BILINEAR)
    back = back.crop(((back.width - S) // 2, (back.height - S) // 2,
                      (back.width - S) // 2 + S, (back.height - S) // 2 + S))
    back = back.filter(ImageFilter.GaussianBlur(S / 25))
    back = ImageEnhance.Brightness(back).enhance(0.8)
    back.paste(im, ((S - w) // 2, (S - h) // 2))
    return _codec(back, "JPEG", quality=85)


# name -> (function, file format of the query, family)
TRANSFORMS = {
    "jpeg90": (_jpeg(90), "jpg", "codec"),
    "jpeg75": (_jpeg(75), "jpg", "codec"),
    "jpeg50": (_jpeg(50), "jpg", "codec"),
    "jpeg30": (_jpeg(30), "jpg", "codec"),
    "webp80": (lambda im, r: _codec(im, "WEBP", quality=80), "webp", "codec"),
    "scale50": (_scale(0.5), "png", "scale"),
    "scale25": (_scale(0.25), "png", "scale"),
    "scale150": (_scale(1.5), "png", "scale"),
    "thumb256": (lambda im, r: _codec(_thumb(im, 256), "JPEG", quality=80), "jpg", "scale"),
    "stretch_y85": (lambda im, r: im.resize((im.width, round(im.height * 0.85)), Image.LANCZOS), "png", "scale"),
    "crop5": (_crop(0.05, 0.05, 0.05, 0.05), "png", "crop"),
    "crop10": (_crop(0.10, 0.10, 0.10, 0.10), "png", "crop"),
    "crop10_right": (_crop(0, 0, 0.10, 0), "png", "crop"),
    "crop10_tb": (_crop(0, 0.10, 0, 0.10), "png", "crop"),
    "rot90": (lambda im, r: im.transpose(Image.ROTATE_90), "png", "dihedral"),
    "rot180": (lambda im, r: im.transpose(Image.ROTATE_180), "png", "dihedral"),
    "mirror": (lambda im, r: im.transpose(Image.FLIP_LEFT_RIGHT), "png", "dihedral"),
    "rot2": (_rotate(2, False), "png", "rotation"),
    "rot5": (_rotate(5, False), "png", "rotation"),
    "rot5_crop": (_rotate(5, True), "png", "rotation"),
    "bright_up30": (lambda im, r: ImageEnhance.Brightness(im).enhance(1.3), "png", "colour"),
    "bright_down30": (lambda im, r: ImageEnhance.Brightness(im).enhance(0.7), "png", "colour"),
    "contrast_up30": (lambda im, r: ImageEnhance.Contrast(im).enhance(1.3), "png", "colour"),
    "contrast_down30": (lambda im, r: ImageEnhance.Contrast(im).enhance(0.7), "png", "colour"),
    "gamma06": (_gamma(0.6), "png", "colour"),
    "gamma16": (_gamma(1.6), "png", "colour"),
    "saturation50": (lambda im, r: ImageEnhance.Color(im).enhance(0.5), "png", "colour"),
    "greyscale": (lambda im, r: im.convert("L").convert("RGB"), "png", "colour"),
    "blur2": (lambda im, r: im.filter(ImageFilter.GaussianBlur(2)), "png", "filter"),
    "blur5": (lambda im, r: im.filter(ImageFilter.GaussianBlur(5)), "png", "filter"),
    "unsharp": (lambda im, r: im.filter(ImageFilter.UnsharpMask(2, 150, 3)), "png", "filter"),
    "noise10": (_noise(10), "png", "filter"),
    "noise25": (_noise(25), "png", "filter"),
    "caption": (_caption, "png", "overlay"),
    "watermark": (_watermark, "png", "overlay"),
    "logo": (_logo, "png", "overlay"),
    "border5_white": (_border(0.05, (255, 255, 255)), "png", "border"),
    "border20_black": (_border(0.20, (0, 0, 0)), "png", "border"),
    "screenshot": (_screenshot, "jpg", "border"),
    "social": (_social, "jpg", "codec"),
    "chain": (_chain, "jpg", "chain"),
}
# Beyond the 41: the border families the targets name.
EXTRA = {
    "letterbox": (_letterbox, "jpg", "border"),
    "pillarbox": (_pillarbox, "jpg", "border"),
    "blurred_padding": (_blurred_padding, "jpg", "border"),
}


def _thumb(im, side):
    im = im.copy()
    im.thumbnail((side, side), Image.LANCZOS)
    return im


def apply(tname, im, pname):
    fn = (TRANSFORMS.get(tname) or EXTRA[tname])[0]
    return fn(im, _rng(tname, pname))


def file_format(tname):
    return (TRANSFORMS.get(tname) or EXTRA[tname])[1]
