"""The try-on model families: what each trains, how each runs, and their networks.

- `kinds`: the family table (`train.family` -> warp and generator kinds) and `load_model`,
  which rebuilds any saved kind from its config.json.
- `forward`: what each kind reads from a batch and returns (training, evaluation and try-on
  all call it).
- `tryon_model`: `TryOnModel`, a family's warp then generator on tensors.
- `unet_sa`: the 41-channel U-Net + self-attention GAN (generator, 70x70 spectral-norm
  PatchGAN, LSGAN + VGG + L1 + feature-matching losses).
- `tocg`: HR-VITON's try-on condition generator (appearance-flow warping, condition aligning,
  occlusion removal, multi-scale discriminator, its losses and the 7-group parse).
- `spade`: HR-VITON's SPADE image generator and its discriminator and losses.
- `diffusion`, `vae`, `ldm`, `catvton`, `warp_cloth`: the latent-diffusion families.
- `parallel_unet`, `tryondiffusion`: TryOnDiffusion's Parallel-UNet and its pixel-space
  cascade (inputs, continuous-time schedule, min-SNR, guided sampling).

gmm_tom's networks live in `vton.models` with what every family shares (config-carrying
modules, VGG features, inputs, losses).
"""
