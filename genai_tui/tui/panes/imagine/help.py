"""The Imagine pane's F1 text."""

HELP = """
**Text to image.** A small diffusion U-Net draws a 28x28 digit from noise, as in
the Diffusion pane, but now each step also *reads your prompt*: a small text
encoder turns the prompt's tokens into vectors, and **cross-attention** lets
every image position ask the text tokens which of them matter there (queries
from the image, keys and values from the text). The **Attention** view shows,
for each token, the share of each pixel's attention it got; the start slot
`∅` is where attention goes when no word matters.

**Classifier-free guidance** (Ho & Salimans 2022). During training the
caption is dropped now and then (**condition dropout**: 15% of captions are
replaced by the empty one), so one network learns both the conditional noise
prediction eps_c and the unconditional eps_u. Sampling mixes them:
**eps = eps_u + w (eps_c − eps_u)**. w = 0 ignores the prompt, w = 1 is the
plain conditional model, larger w pushes harder towards the prompt (and
away from variety). A w above 1 is used only in the last, low-noise 30% of
the schedule (t < 300 of 1000; **guidance in a limited interval**,
Kynkäänniemi et al. 2024); earlier steps use the plain conditional model.
Pushing that hard while the picture is still mostly noise is what turns the
digits into ink blobs. The **Guidance** view draws one seed at w = 0, 1, 2,
3, 5, 8.

**CLIP** (Radford et al. 2021) is a separate model trained to put images and
captions in **one joint space**: matching pairs close, others apart. The
**score** under each image is the **cosine similarity** of the image's and the
prompt's vectors (−1..1; higher = closer). The **Search** view uses the
prompt as a query over held-out digits and shows the similarity matrix of a
few held-out captions and their images: the diagonal (◆) should light up.
Each match is captioned with its digit, thickness, slant (`\\` left, `|`
upright, `/` right) and similarity.
The **Map** view puts 200 held-out captions and their images on one plane (a
PCA of both kinds of vector together; each point drawn as its digit): in a
joint space a digit's captions land where its images are. Each kind's own
mean is taken out first: contrastive training leaves the two kinds in
separate regions (the *modality gap*), which would otherwise be the whole
picture.
Under each finished image: the digit classifier's reading (`7 96%`; red `?`
= not a digit) and the CLIP score. Words the model never saw in training are
listed under the prompt; it still draws (its guess from the tokens).

**Keys while typing too**: **F5** pause / resume (or draw again), **F6** /
**F7** guidance down / up (0, 0.5, 1, 2, 3, 4, 5, 7, 10), **F8** sampler DDIM /
DDPM, **F10** / **F11** fewer / more DDIM steps (5, 10, 25, 50, 100), **F12**
next seed; **Enter** in the prompt draws it, **Esc** leaves the prompt.
**Outside the prompt**: **1**-**5** the views, **/** the prompt, **.** one step,
**[** / **]** the image followed (Denoise, Attention), **←** / **→** the step
whose attention is shown, **s** saves what is shown as PNG.
"""
